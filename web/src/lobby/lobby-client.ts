// The browser side of the lobby socket: who is online and in which room,
// kept current by the server's pushes; this page's room; invitations sent,
// received and answered. Reconnects on its own with backoff.
import type { LobbyClientMessage } from '../protocol/LobbyClientMessage';
import type { LobbyServerMessage } from '../protocol/LobbyServerMessage';
import type { UserView } from '../protocol/UserView';
import { applyChanges } from '../rooms/roster';

export const LOBBY_PROTOCOL_VERSION = 1;
/** The server drops a page silent for 45 s. */
const PING_MS = 15_000;
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 15_000;

export interface LobbyEvents {
  /** Everyone online changed (this user included). */
  onUsers?: (users: UserView[], you: string) => void;
  onInvited?: (invitation: string, from: UserView, room: string) => void;
  onAnswered?: (invitation: string, by: string, accepted: boolean) => void;
  onError?: (code: string, message: string) => void;
}

export class LobbyClient {
  users: UserView[] = [];
  you = '';
  readonly #url: string;
  readonly #name: string;
  readonly #events: LobbyEvents;
  #room: string | undefined;
  #socket: WebSocket | undefined;
  #pingTimer: ReturnType<typeof setInterval> | undefined;
  #failures = 0;
  #closed = false;

  constructor(url: string, name: string, room: string | undefined, events: LobbyEvents) {
    this.#url = url;
    this.#name = name;
    this.#room = room;
    this.#events = events;
    this.#connect();
  }

  /** The room this page is in now (undefined: browsing). */
  setRoom(room: string | undefined): void {
    if (room === this.#room) return;
    this.#room = room;
    this.#sendWhere();
  }

  invite(to: string): void {
    if (this.#room !== undefined) this.#send({ type: 'invite', to, room: this.#room });
  }

  answer(invitation: string, accept: boolean): void {
    this.#send({ type: 'answer', invitation, accept });
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.#socket?.close();
  }

  #sendWhere(): void {
    const message: LobbyClientMessage = { type: 'where' };
    if (this.#room !== undefined) message.room = this.#room;
    this.#send(message);
  }

  #send(message: LobbyClientMessage): void {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }

  #connect(): void {
    const socket = new WebSocket(this.#url);
    this.#socket = socket;
    socket.addEventListener('open', () => {
      socket.send(JSON.stringify({ type: 'hello', version: LOBBY_PROTOCOL_VERSION, name: this.#name } satisfies LobbyClientMessage));
    });
    socket.addEventListener('message', (event) => this.#receive(String(event.data)));
    socket.addEventListener('close', () => {
      if (socket !== this.#socket) return;
      clearInterval(this.#pingTimer);
      if (this.#closed) return;
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.#failures);
      this.#failures += 1;
      setTimeout(() => {
        if (!this.#closed) this.#connect();
      }, delay * (0.5 + Math.random() / 2));
    });
  }

  #receive(text: string): void {
    let message: LobbyServerMessage;
    try {
      message = JSON.parse(text) as LobbyServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'welcome':
        this.you = message.you;
        this.users = message.users;
        this.#failures = 0;
        clearInterval(this.#pingTimer);
        this.#pingTimer = setInterval(() => this.#send({ type: 'ping', t: Date.now() }), PING_MS);
        if (this.#room !== undefined) this.#sendWhere();
        this.#events.onUsers?.(this.users, this.you);
        break;
      case 'presence':
        this.users = applyChanges(this.users, message.changed, message.left);
        this.#events.onUsers?.(this.users, this.you);
        break;
      case 'invited':
        this.#events.onInvited?.(message.invitation, message.from, message.room);
        break;
      case 'invitation_answered':
        this.#events.onAnswered?.(message.invitation, message.by, message.accepted);
        break;
      case 'error':
        this.#events.onError?.(message.code, message.message);
        break;
      case 'invitation_sent':
      case 'pong':
        break;
    }
  }
}
