// The rendition a sharing room plays: one for everyone, so that everyone is
// in one swarm. Left to itself, each member's hls.js reads its own share of
// the origin (a sixth of it when six fetch at once) and its peers' transfers
// as its bandwidth, and settles low and apart. In a room the origin serves
// each segment about once, so what the room can play is what the origin
// serves the room at (measured by the room from everyone's fetches), with
// room to spare for members who fetch for themselves.
import type Hls from 'hls.js';

import type { PlayerHandle } from './hls-player';

/** The share of the origin's measured rate the room's rendition may take. A
 * room fetches each segment about once, but members no holder can reach,
 * joiners and seeks fetch more: across emulated homes the room took 1.6-1.7
 * viewers' worth from the origin, so 0.4 keeps it at about two thirds busy.
 * At 0.6 it took all of it, fetches queued, waits for the room's fetcher ran
 * out, everyone fetched for itself, and the party stalled. */
export const ORIGIN_SHARE = 0.4;

/** Seconds buffered ahead until the room knows what its origin carries: what
 * is buffered then plays at the lowest rendition. */
export const EARLY_BUFFER_SECS = 6;

/** The highest rendition whose peak bitrate (bits/s) fits the room's share of the origin; the lowest if none does. */
export function roomLevel(peakBitrates: readonly number[], originBytesPerSec: number): number {
  const budget = originBytesPerSec * 8 * ORIGIN_SHARE;
  const byBitrate = peakBitrates.map((bitrate, level) => ({ bitrate, level })).sort((a, b) => a.bitrate - b.bitrate);
  const fitting = byBitrate.filter((r) => r.bitrate <= budget);
  return (fitting.at(-1) ?? byBitrate[0])?.level ?? 0;
}

export class RoomRendition {
  readonly #player: PlayerHandle;
  readonly #hls: Hls;
  readonly #bufferSecs: number;
  #originBytesPerSec: number | undefined;

  constructor(player: PlayerHandle, HlsPlayer: typeof Hls) {
    const { hls } = player;
    this.#player = player;
    this.#hls = hls;
    this.#bufferSecs = hls.config.maxBufferLength;
    hls.config.maxBufferLength = Math.min(this.#bufferSecs, EARLY_BUFFER_SECS);
    hls.on(HlsPlayer.Events.MANIFEST_PARSED, () => this.#apply());
  }

  /** The room measured its origin again (bytes/s). */
  originMeasured(bytesPerSec: number): void {
    this.#originBytesPerSec = bytesPerSec;
    this.#apply();
  }

  #apply(): void {
    const hls = this.#hls;
    if (this.#originBytesPerSec === undefined || hls.levels.length === 0) return;
    hls.config.maxBufferLength = this.#bufferSecs;
    const level = roomLevel(hls.levels.map((l) => l.maxBitrate), this.#originBytesPerSec);
    const { engine } = this.#player;
    engine.setRoomRendition(engine.index.renditionOfUrl(hls.levels[level]?.url[0] ?? ''));
    // Takes effect from the next segment loaded: what is buffered plays out.
    if (hls.loadLevel !== level || hls.autoLevelEnabled) hls.loadLevel = level;
  }
}
