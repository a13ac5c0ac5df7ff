// What one movie's loader has moved, by rendition and by source, and why
// segments went to HTTP: the figures of `P2PEngine.stats()` and of the
// reports to the tracker.
import type { HttpReason, SegmentSource } from './types';

export interface Counters {
  http: number;
  peer: number;
  uploaded: number;
}

export class TransferCounters {
  readonly #byRendition = new Map<string, Counters>();
  readonly #segments: Record<SegmentSource, number> = { http: 0, peer: 0, cache: 0 };
  readonly #httpReasons: Partial<Record<HttpReason, number>> = {};
  verificationFailures = 0;
  /** Segments a peer began and HTTP finished with a byte range. */
  completedOverHttp = 0;
  /** HTTP loads of the player's made again because they went silent (http-silence.ts). */
  silentHttpLoads = 0;

  /** The byte counters of one rendition (created at first use). */
  of(rendition: string): Counters {
    let counters = this.#byRendition.get(rendition);
    if (counters === undefined) {
      counters = { http: 0, peer: 0, uploaded: 0 };
      this.#byRendition.set(rendition, counters);
    }
    return counters;
  }

  renditions(): [string, Counters][] {
    return [...this.#byRendition.entries()];
  }

  totals(): Counters {
    const total = { http: 0, peer: 0, uploaded: 0 };
    for (const c of this.#byRendition.values()) {
      total.http += c.http;
      total.peer += c.peer;
      total.uploaded += c.uploaded;
    }
    return total;
  }

  wentToHttp(reason: HttpReason): void {
    this.#httpReasons[reason] = (this.#httpReasons[reason] ?? 0) + 1;
  }

  delivered(source: SegmentSource): void {
    this.#segments[source] += 1;
  }

  get segments(): Record<SegmentSource, number> {
    return { ...this.#segments };
  }

  get httpReasons(): Partial<Record<HttpReason, number>> {
    return { ...this.#httpReasons };
  }
}
