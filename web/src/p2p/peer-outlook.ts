// Whether peers serve this page at all lately. Across homes 300 ms apart with
// 2 % loss (the lab's bad-wifi profile) links open, but no transfer between
// homes delivers. Each load of the player still waited for something first: a
// room fetcher's copy, a connection, a first byte. That cost 1.5-5 s per
// 2 s segment before HTTP took over. hls.js loads one fragment at a time, so
// each wait also held up every load behind it. The buffers drained to 3-7 s
// and the members stalled more often than with HTTP alone.
//
// So when every peer attempt of the last half minute failed (at least a few),
// a load needed within the next seconds goes to HTTP at once. With a buffer
// that can afford a wait, peers are still tried: that is how they are found to
// work again, and one segment from a peer ends the verdict. Silence of one
// peer (peer-silence.ts) is a different question: this one is the whole swarm
// as this page sees it.

/** Attempts looked at: the last this long, ms. */
const WINDOW_MS = 30_000;
/** Failures within the window, none delivered, before peers are judged failing. */
const FAILURES_TO_JUDGE = 3;

export class PeerOutlook {
  /** When each attempt of the window failed. */
  #failures: number[] = [];
  #lastDelivered = Number.NEGATIVE_INFINITY;

  /** A peer attempt cost time and brought no segment (connect failed, no first byte, stalled, late, a fetcher's copy that never came). */
  failed(now = performance.now()): void {
    this.#failures = this.#recent(now);
    this.#failures.push(now);
  }

  /** A whole segment came from a peer. */
  delivered(now = performance.now()): void {
    this.#lastDelivered = now;
  }

  /** Every peer attempt of the window failed, and there were enough of them to say so. */
  failing(now = performance.now()): boolean {
    if (now - this.#lastDelivered < WINDOW_MS) return false;
    this.#failures = this.#recent(now);
    return this.#failures.length >= FAILURES_TO_JUDGE;
  }

  #recent(now: number): number[] {
    return this.#failures.filter((at) => now - at < WINDOW_MS);
  }
}
