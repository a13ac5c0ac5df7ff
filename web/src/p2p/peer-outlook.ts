// Whether peers serve this page at all. Across homes 300 ms apart with 2 %
// loss (the lab's bad-wifi profile) links open, but no transfer between homes
// delivers. Each load of the player still waited for something first: a room
// fetcher's copy, a connection, a first byte. That cost 1.5-5 s per 2 s
// segment before HTTP took over. hls.js loads one fragment at a time, so each
// wait also held up every load behind it. The buffers drained to 3-7 s and
// the members stalled more often than with HTTP alone.
//
// So after a few failed peer attempts in a row, with no segment from a peer
// since, a load needed within the next seconds goes to HTTP at once. With a
// buffer that can afford a wait, peers are still tried: that is how they are
// found to work again, and one segment from a peer ends the verdict. The
// verdict does not wear off with time alone: when it did (after 30 s), a
// member whose loads had all gone to HTTP meanwhile was back to waiting on
// peers right after the next seek, and stalled. Silence of one peer
// (peer-silence.ts) is a different question: this one is about the whole
// swarm as this page sees it.

/** Failed attempts in a row, no segment from a peer since, before peers are judged failing. */
const FAILURES_TO_JUDGE = 3;
/**
 * Failures of one source this close together count once, ms: up to three
 * transfers ahead run at once, often to one peer, and end together when it
 * leaves. That is one peer gone, not a swarm that fails.
 */
const SAME_SOURCE_GAP_MS = 3_000;

export class PeerOutlook {
  #failuresInARow = 0;
  /** When each source (a peer, or the wait for a room fetcher's copy) last counted a failure. */
  readonly #lastCounted = new Map<string, number>();

  /**
   * An attempt on `source` cost time and brought no segment (connect failed,
   * no first byte, stalled, late, a fetcher's copy that never came).
   */
  failed(source: string, now = performance.now()): void {
    if (now - (this.#lastCounted.get(source) ?? Number.NEGATIVE_INFINITY) < SAME_SOURCE_GAP_MS) return;
    this.#lastCounted.set(source, now);
    this.#failuresInARow += 1;
  }

  /** A whole segment came from a peer, and it was the catalog's. */
  delivered(): void {
    this.#failuresInARow = 0;
    this.#lastCounted.clear();
  }

  failing(): boolean {
    return this.#failuresInARow >= FAILURES_TO_JUDGE;
  }
}
