// How fast this viewer receives segments while it is receiving them, over
// HTTP and from peers alike: bytes over the time transfers ran (waits for a
// holder or a connection excluded), for the last few transfers.
//
// hls.js picks renditions from the timings of each fragment's load. A
// segment from a peer or the cache has no HTTP timings, and its own would
// mislead: one served from the cache looks infinitely fast (a switch up the
// origin cannot carry), one that waited seconds for the member fetching it
// for the room looks slow (a switch down everyone else pays for, since the
// room's members then sit in different swarms). Such loads are reported to
// hls.js as if they had come at this rate instead.

/** Transfers the estimate spans. */
const WINDOW = 8;
/** Older transfers no longer say much about the path, ms. */
const MAX_AGE_MS = 30_000;
/** A transfer shorter than this is counted as this long (timer resolution), ms. */
const MIN_TRANSFER_MS = 5;

interface Transfer {
  bytes: number;
  ms: number;
  at: number;
}

export class LoadingThroughput {
  readonly #transfers: Transfer[] = [];

  /** A completed transfer: `bytes` received in `ms` of transfer time. */
  sample(bytes: number, ms: number, now = performance.now()): void {
    if (bytes <= 0 || !Number.isFinite(ms)) return;
    this.#transfers.push({ bytes, ms: Math.max(ms, MIN_TRANSFER_MS), at: now });
    if (this.#transfers.length > WINDOW) this.#transfers.shift();
  }

  /** Bits per second over the recent transfers; undefined before any. */
  bitsPerSecond(now = performance.now()): number | undefined {
    const recent = this.#transfers.filter((t) => now - t.at <= MAX_AGE_MS);
    if (recent.length === 0) return undefined;
    const bytes = recent.reduce((sum, t) => sum + t.bytes, 0);
    const ms = recent.reduce((sum, t) => sum + t.ms, 0);
    return (bytes * 8000) / ms;
  }

  /**
   * Loading timings for `bytes` that arrived at `end` without an HTTP load
   * of their own, as if at the recent rate; `fallbackMs` when there is none.
   */
  timings(bytes: number, end: number, fallbackMs: number): { start: number; first: number; end: number } {
    const rate = this.bitsPerSecond(end);
    const ms = rate === undefined ? fallbackMs : (bytes * 8000) / rate;
    const first = end - Math.max(ms, 1);
    return { start: first - 1, first, end };
  }
}
