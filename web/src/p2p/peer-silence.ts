// Peers whose transfers to this page keep ending without a byte. Between
// homes 300 ms apart with 2 % loss (the lab's bad-wifi profile) links open,
// but a segment's first byte rarely comes within the 1.5 s a transfer gets:
// every member of a room waited for the others' copies, gave up, fetched over
// HTTP late, and stalled where HTTP alone did not. A peer silent on its last
// two transfers is not waited for when the player needs a segment soon,
// until it delivers again (it is still asked while there is time, which is
// how it is found to work again) or its last failure is 30 s old.

/** Transfers in a row that ended without progress before a peer counts as silent. */
const SILENT_AFTER = 2;
/** A silence this old is forgotten, ms. */
const FORGET_AFTER_MS = 30_000;

export class PeerSilence {
  /** Peer id -> transfers in a row that went silent, and when the last did. */
  readonly #failures = new Map<string, { count: number; at: number }>();

  /** A transfer from `peer` was given up without progress (no first byte, or stalled). */
  failed(peer: string, now = performance.now()): void {
    const count = (this.#failures.get(peer)?.count ?? 0) + 1;
    this.#failures.set(peer, { count, at: now });
  }

  /** A whole segment came from `peer`. */
  delivered(peer: string): void {
    this.#failures.delete(peer);
  }

  silent(peer: string, now = performance.now()): boolean {
    const failures = this.#failures.get(peer);
    if (failures === undefined) return false;
    if (now - failures.at > FORGET_AFTER_MS) {
      this.#failures.delete(peer);
      return false;
    }
    return failures.count >= SILENT_AFTER;
  }
}
