// The segments this page fetched over HTTP, as the room wants them reported:
// start and end on the server's clock, bytes, and which segment. The room adds up everyone's
// to learn what its origin can serve (see services/rooms/src/origin_load.rs).
// Resource Timing sees every fetch, the loader's and hls.js's own alike,
// with the browser's own timestamps.
import type { OriginFetch } from '../protocol/OriginFetch';
import { MAX_ORIGIN_FETCHES } from '../protocol/limits';

/** What a segment's URL looks like (its rendition's folder, its number); playlists and the page's other fetches are left out. */
const SEGMENT_URL = /\/([^/?#]{1,32})\/seg_(\d+)\.ts(\?|$)/;

export class OriginFetchLog {
  readonly #pending: OriginFetch[] = [];
  readonly #observer: PerformanceObserver | undefined;

  /** `serverNow`: the server's clock now, ms since the epoch. */
  constructor(serverNow: () => number) {
    if (typeof PerformanceObserver === 'undefined') return;
    this.#observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries() as PerformanceResourceTiming[]) {
        // transferSize 0: answered from the browser's cache, not by the origin.
        const segment = SEGMENT_URL.exec(entry.name);
        if (segment === null || entry.transferSize === 0 || entry.encodedBodySize === 0) continue;
        const toServer = serverNow() - performance.now();
        // From the first byte: the round trip before it is no time the
        // origin's link was busy, and over 40 ms it made a 145 kB segment
        // look like a third of the link.
        const start = entry.responseStart > 0 ? entry.responseStart : entry.startTime;
        this.#pending.push({
          start_ms: Math.round(toServer + start),
          end_ms: Math.round(toServer + entry.responseEnd),
          bytes: entry.encodedBodySize,
          // Which one: the room counts how many times the origin served each.
          segment: `${segment[1]}/${Number(segment[2])}`,
        });
      }
      // The room hears of the latest; a page that could not report for a while drops the oldest.
      this.#pending.splice(0, Math.max(0, this.#pending.length - MAX_ORIGIN_FETCHES));
    });
    this.#observer.observe({ type: 'resource', buffered: false });
  }

  /** The fetches not reported yet, at most as many as one status carries. */
  take(): OriginFetch[] {
    return this.#pending.splice(0, MAX_ORIGIN_FETCHES);
  }

  stop(): void {
    this.#observer?.disconnect();
  }
}
