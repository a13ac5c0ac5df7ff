// A WebSocket that comes back on its own: after a drop it reconnects with
// exponential backoff and jitter (so a server restart is not met by every
// client at once), and says its hello again on each open. The room and lobby
// clients build on it.

export interface ReconnectingSocketOptions {
  url: string;
  minDelayMs: number;
  maxDelayMs: number;
  /** Each time the socket opens: say hello. */
  onOpen: (send: (text: string) => void) => void;
  onMessage: (text: string) => void;
  /** The socket dropped and a reconnect is scheduled. */
  onDrop?: () => void;
}

export class ReconnectingSocket {
  readonly #options: ReconnectingSocketOptions;
  #socket: WebSocket | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: ReconnectingSocketOptions) {
    this.#options = options;
    this.#connect();
  }

  /** Sends when open; a message while reconnecting is dropped (the hello restores the state). */
  send(text: string): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(text);
  }

  /** The server took us back: the next drop waits the shortest delay again. */
  established(): void {
    this.#failures = 0;
  }

  /** For good: no reconnect. */
  close(): void {
    this.#closed = true;
    this.#socket?.close();
  }

  #connect(): void {
    const socket = new WebSocket(this.#options.url);
    this.#socket = socket;
    socket.addEventListener('open', () => this.#options.onOpen((text) => socket.send(text)));
    socket.addEventListener('message', (event) => this.#options.onMessage(String(event.data)));
    socket.addEventListener('close', () => {
      if (socket !== this.#socket || this.#closed) return;
      this.#options.onDrop?.();
      const delay = Math.min(this.#options.maxDelayMs, this.#options.minDelayMs * 2 ** this.#failures);
      this.#failures += 1;
      setTimeout(() => {
        if (!this.#closed) this.#connect();
      }, delay * (0.5 + Math.random() / 2));
    });
  }
}
