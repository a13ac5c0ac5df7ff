// The catalog's segment manifest, indexed for the loader: each segment's size,
// SHA-256 and start time, by rendition and sequence number.
import type { SegmentManifest } from '../api/types';

export interface SegmentInfo {
  sizeBytes: number;
  sha256: string;
  startSecs: number;
  durationSecs: number;
}

/** How far short of a segment's end a buffer may end and still hold that segment, s. */
const BUFFER_END_SLACK_SECS = 0.25;

export class SegmentIndex {
  readonly #renditions = new Map<string, SegmentInfo[]>();
  /** Renditions of an audio track of their own (a movie with several languages). */
  readonly #audio = new Set<string>();

  constructor(manifest: SegmentManifest) {
    for (const rendition of manifest.renditions) {
      let start = 0;
      const segments = rendition.durations_ms.map((durationMs, i) => {
        const info: SegmentInfo = {
          sizeBytes: rendition.sizes_bytes[i] ?? 0,
          sha256: rendition.sha256[i] ?? '',
          startSecs: start,
          durationSecs: durationMs / 1000,
        };
        start += durationMs / 1000;
        return info;
      });
      this.#renditions.set(rendition.name, segments);
      if (rendition.kind === 'audio') this.#audio.add(rendition.name);
    }
  }

  /** Whether a rendition is an audio track (its segments play beside the video's). */
  isAudio(rendition: string): boolean {
    return this.#audio.has(rendition);
  }

  get(rendition: string, sequence: number): SegmentInfo | undefined {
    return this.#renditions.get(rendition)?.[sequence];
  }

  /** The sequence playing at `seconds` in a rendition (the last one past the end). */
  sequenceAt(rendition: string, seconds: number): number {
    const segments = this.#renditions.get(rendition) ?? [];
    const found = segments.findIndex((s) => seconds < s.startSecs + s.durationSecs);
    return found === -1 ? Math.max(0, segments.length - 1) : found;
  }

  /**
   * The segments worth fetching ahead: from the first the player has not
   * buffered (`bufferedTo`, seconds) to the one playing at `untilSecs`. Not
   * from the playhead: after a switch of rendition, the seconds buffered in
   * the old one play out, and fetching them again in the new one was waste.
   */
  windowAhead(rendition: string, bufferedTo: number, untilSecs: number): [number, number] {
    return [this.firstUnbuffered(rendition, bufferedTo), this.sequenceAt(rendition, untilSecs)];
  }

  /** The first segment past a buffer that ends at `bufferedTo`, seconds. */
  firstUnbuffered(rendition: string, bufferedTo: number): number {
    // A hair past the buffer's end: it ends a few ms short of a segment's.
    return this.sequenceAt(rendition, bufferedTo + BUFFER_END_SLACK_SECS);
  }

  /** The rendition a segment URL belongs to: `/media/<movie>/<rendition>/<file>`. */
  renditionOfUrl(url: string): string | undefined {
    const parts = new URL(url, 'http://localhost').pathname.split('/');
    const name = parts.at(-2);
    return name !== undefined && this.#renditions.has(name) ? name : undefined;
  }
}
