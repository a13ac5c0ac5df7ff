// Which peers a page could link to, and which it tried lately and could not.
// Behind some pairs of NATs (port-restricted and symmetric, symmetric and
// symmetric) no direct connection gets through; a room gives its fetching for
// everyone to the members with the fewest such failures, whom everyone else
// can reach. A link still shut after `SLOW_LINK_MS` counts at once, before
// the connect time runs out: at a room's start the plan names every member
// until they say otherwise, and members behind restrictive NATs fetched the
// first segments for a room that could not reach them.

/** A failure older than this is forgotten (that peer may have left meanwhile), ms. */
const FORGET_AFTER_MS = 120_000;
/**
 * A link not open after this long counts as unreachable until it opens, ms.
 * Between homes 80 ms apart, links that open do so within about a second.
 */
export const SLOW_LINK_MS = 2_000;

export class Reachability {
  readonly #reached = new Set<string>();
  /** Peer id -> when a link to it last failed. */
  readonly #failed = new Map<string, number>();
  /** Peer id -> when a link to it was found still shut after `SLOW_LINK_MS`. */
  readonly #slow = new Map<string, number>();

  /** A link to `peer` opened. */
  reached(peer: string): void {
    this.#reached.add(peer);
    this.#failed.delete(peer);
    this.#slow.delete(peer);
  }

  /** A link to `peer` is still opening after `SLOW_LINK_MS`. */
  slow(peer: string, now = performance.now()): void {
    if (!this.#reached.has(peer)) this.#slow.set(peer, now);
  }

  /** A link to `peer` could not be opened (ICE failed, or it never opened in time). */
  failed(peer: string, now = performance.now()): void {
    this.#slow.delete(peer);
    if (!this.#reached.has(peer)) this.#failed.set(peer, now);
  }

  /** The attempt was given up for another reason (a deadline): it says nothing about the peer. */
  abandoned(peer: string): void {
    this.#slow.delete(peer);
  }

  /** Peers tried lately and never reached (still trying after `SLOW_LINK_MS`, or failed). */
  unreachable(now = performance.now()): number {
    for (const marks of [this.#failed, this.#slow]) {
      for (const [peer, at] of marks) if (now - at > FORGET_AFTER_MS) marks.delete(peer);
    }
    return new Set([...this.#failed.keys(), ...this.#slow.keys()]).size;
  }
}
