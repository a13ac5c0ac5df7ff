// The browser side of the lobby socket: who is online and in which room,
// kept current by the server's pushes; this page's room; invitations sent,
// received and answered. Reconnects on its own with backoff.
import type { LobbyClientMessage } from '../protocol/LobbyClientMessage';
import type { LobbyServerMessage } from '../protocol/LobbyServerMessage';
import type { UserView } from '../protocol/UserView';
import { ReconnectingSocket } from '../net/reconnecting-socket';
import { applyChanges } from '../rooms/roster';

export const LOBBY_PROTOCOL_VERSION = 2;
/** Refusals of the hello's name: said once, then retried quietly with backoff
 * (the name may be held by this tab's previous connection until the server
 * notices it dropped). */
const NAME_REFUSALS = new Set(['name_taken', 'invalid_name']);

/** The server drops a page silent for 45 s. */
const PING_MS = 15_000;
/** A ping unanswered this long means the path is gone: reconnect rather than wait for TCP. */
const PONG_DEADLINE_MS = 4_000;
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
  readonly #events: LobbyEvents;
  readonly #socket: ReconnectingSocket;
  #room: string | undefined;
  /** The room's presence pass: without it the server does not show this page in the room. */
  #pass: string | undefined;
  /** Comes back as the same user (same id and name) after a dropped socket. */
  #resumeToken: string | undefined;
  #nameRefused = false;
  #pingTimer: ReturnType<typeof setInterval> | undefined;

  constructor(url: string, name: string, room: string | undefined, events: LobbyEvents) {
    this.#room = room;
    this.#events = events;
    this.#socket = new ReconnectingSocket({
      url,
      minDelayMs: RECONNECT_MIN_MS,
      maxDelayMs: RECONNECT_MAX_MS,
      onOpen: (send) => {
        const hello: LobbyClientMessage = { type: 'hello', version: LOBBY_PROTOCOL_VERSION, name };
        if (this.#resumeToken !== undefined) hello.resume = this.#resumeToken;
        send(JSON.stringify(hello));
      },
      onMessage: (text) => this.#receive(text),
      onDrop: () => clearInterval(this.#pingTimer),
    });
  }

  /** The room this page is in now (undefined: browsing), with that room's presence pass once it has one. */
  setRoom(room: string | undefined, pass?: string): void {
    // The same room again without a pass keeps the one it has.
    const nextPass = room === undefined ? undefined : (pass ?? (room === this.#room ? this.#pass : undefined));
    if (room === this.#room && nextPass === this.#pass) return;
    this.#room = room;
    this.#pass = nextPass;
    this.#sendWhere();
  }

  invite(to: string): void {
    if (this.#room !== undefined) this.#send({ type: 'invite', to, room: this.#room });
  }

  answer(invitation: string, accept: boolean): void {
    this.#send({ type: 'answer', invitation, accept });
  }

  close(): void {
    clearInterval(this.#pingTimer);
    this.#socket.close();
  }

  #sendWhere(): void {
    const message: LobbyClientMessage = { type: 'where' };
    if (this.#room !== undefined && this.#pass !== undefined) {
      message.room = this.#room;
      message.pass = this.#pass;
    }
    this.#send(message);
  }

  #send(message: LobbyClientMessage): void {
    this.#socket.send(JSON.stringify(message));
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
        this.#resumeToken = message.resume_token;
        this.#nameRefused = false;
        this.users = message.users;
        this.#socket.established();
        clearInterval(this.#pingTimer);
        this.#pingTimer = setInterval(() => {
          this.#send({ type: 'ping', t: Date.now() });
          this.#socket.expectAnswer(PONG_DEADLINE_MS);
        }, PING_MS);
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
        // The name is someone else's online, this person's in another tab, or
        // this tab's last connection's, not yet known to be gone: said once,
        // while the socket keeps trying with backoff.
        if (NAME_REFUSALS.has(message.code)) {
          if (this.#nameRefused) break;
          this.#nameRefused = true;
        }
        this.#events.onError?.(message.code, message.message);
        break;
      case 'invitation_sent':
      case 'pong':
        break;
    }
  }
}
