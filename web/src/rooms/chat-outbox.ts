// Chat messages this page sent and has not yet seen come back. Each carries
// a nonce; after a reconnect, the ones missing from the room's history are
// sent again with the same nonce (the room posts a nonce once), so a message
// typed as the connection dropped, or as the room moved to another server,
// is neither lost nor doubled.
import type { ChatMessage } from '../protocol/ChatMessage';

export interface OutgoingChat {
  text: string;
  nonce: string;
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class ChatOutbox {
  readonly #pending = new Map<string, string>();
  readonly #newNonce: () => string;

  constructor(newNonce: () => string = randomNonce) {
    this.#newNonce = newNonce;
  }

  /** A new message to send. */
  add(text: string): OutgoingChat {
    const nonce = this.#newNonce();
    this.#pending.set(nonce, text);
    return { text, nonce };
  }

  /** A message came back from the room. */
  echoed(nonce: string | undefined): void {
    if (nonce !== undefined) this.#pending.delete(nonce);
  }

  /** After a welcome: the messages to send again (those its history does not have). */
  resend(history: ChatMessage[]): OutgoingChat[] {
    for (const message of history) this.echoed(message.nonce);
    return [...this.#pending].map(([nonce, text]) => ({ nonce, text }));
  }

  get size(): number {
    return this.#pending.size;
  }
}
