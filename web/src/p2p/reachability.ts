// Which peers this page could open a link to, and which it tried lately and
// could not. Behind some pairs of NATs (port-restricted and symmetric,
// symmetric and symmetric) no direct connection gets through; a room gives
// its fetching for everyone to the members with the fewest such failures,
// whom everyone else can reach.

/** A failure older than this is forgotten (that peer may have left meanwhile), ms. */
const FORGET_AFTER_MS = 120_000;

export class Reachability {
  readonly #reached = new Set<string>();
  /** Peer id -> when a link to it last failed. */
  readonly #failed = new Map<string, number>();

  /** A link to `peer` opened. */
  reached(peer: string): void {
    this.#reached.add(peer);
    this.#failed.delete(peer);
  }

  /** A link to `peer` could not be opened (ICE failed, or it never opened in time). */
  failed(peer: string, now = performance.now()): void {
    if (!this.#reached.has(peer)) this.#failed.set(peer, now);
  }

  /** Peers tried lately and never reached. */
  unreachable(now = performance.now()): number {
    for (const [peer, at] of this.#failed) if (now - at > FORGET_AFTER_MS) this.#failed.delete(peer);
    return this.#failed.size;
  }
}
