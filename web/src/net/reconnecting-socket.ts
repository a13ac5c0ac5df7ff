// A WebSocket that comes back on its own: after a drop it reconnects with
// exponential backoff and jitter (so a server restart is not met by every
// client at once), and says its hello again on each open. The room and lobby
// clients build on it.
//
// A path that dies without a word (a home's link goes down) closes nothing
// for minutes: TCP keeps retransmitting. So a socket that gets no answer in
// time to something that must be answered (`expectAnswer`, after a ping), or
// that has not opened within `connectTimeoutMs`, is given up at once. Such tries fail without reaching
// the server, so they are repeated at the shortest delay, not backed off: the
// page is back within about a second of the path coming back.

export interface ReconnectingSocketOptions {
  url: string;
  minDelayMs: number;
  maxDelayMs: number;
  /** Each time the socket opens: say hello. */
  onOpen: (send: (text: string) => void) => void;
  onMessage: (text: string) => void;
  /** The socket dropped and a reconnect is scheduled. */
  onDrop?: () => void;
  /** A try that has not opened by then is given up (default 3 s). */
  connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
const WATCH_EVERY_MS = 500;
const BUSY_GRACE_MS = 1_000;

export class ReconnectingSocket {
  readonly #options: ReconnectingSocketOptions;
  #socket: WebSocket | undefined;
  #failures = 0;
  #closed = false;
  /** When an answer we wait for is overdue (Date.now() ms); any message clears it. */
  #answerDueAt: number | undefined;

  constructor(options: ReconnectingSocketOptions) {
    this.#options = options;
    this.#connect();
  }

  /** Sends when open; a message while reconnecting is dropped (the hello restores the state). */
  send(text: string): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(text);
  }

  /**
   * Something was sent that the server answers (a ping): without any message
   * within `withinMs`, the path is taken for dead and the socket tried again.
   * Asked only when something was sent, so a page whose timers the browser
   * slows (a hidden tab) is never taken for dead.
   */
  expectAnswer(withinMs: number): void {
    this.#answerDueAt ??= Date.now() + withinMs;
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
    this.#answerDueAt = undefined;
    const startedAt = Date.now();
    let tickedAt = startedAt;
    const watch = setInterval(() => {
      if (socket !== this.#socket || this.#closed) {
        clearInterval(watch);
        return;
      }
      const now = Date.now();
      // A late tick means this page was busy (or throttled): answers may be
      // waiting behind it. Give them a moment before judging the path.
      const pageWasBusy = now - tickedAt > WATCH_EVERY_MS * 3;
      tickedAt = now;
      if (pageWasBusy && this.#answerDueAt !== undefined) this.#answerDueAt = Math.max(this.#answerDueAt, now + BUSY_GRACE_MS);
      const silent = this.#answerDueAt !== undefined && now > this.#answerDueAt;
      const stuck = now - startedAt > (this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS);
      if (socket.readyState === WebSocket.OPEN ? silent : stuck) {
        clearInterval(watch);
        this.#socket = undefined;
        socket.close();
        this.#dropped(false);
      }
    }, WATCH_EVERY_MS);
    socket.addEventListener('open', () => this.#options.onOpen((text) => socket.send(text)));
    socket.addEventListener('message', (event) => {
      this.#answerDueAt = undefined;
      this.#options.onMessage(String(event.data));
    });
    socket.addEventListener('close', () => {
      clearInterval(watch);
      if (socket !== this.#socket || this.#closed) return;
      this.#dropped(true);
    });
  }

  /** Schedules the next try: backed off when the server closed us, at the shortest delay when the path was silent. */
  #dropped(byServer: boolean): void {
    this.#options.onDrop?.();
    const delay = byServer ? Math.min(this.#options.maxDelayMs, this.#options.minDelayMs * 2 ** this.#failures) : this.#options.minDelayMs;
    if (byServer) this.#failures += 1;
    setTimeout(() => {
      if (!this.#closed) this.#connect();
    }, delay * (0.5 + Math.random() / 2));
  }
}
