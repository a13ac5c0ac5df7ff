// What the fetches ahead (the room's over HTTP, and from peers) look at: the
// player's rendition, position and buffer, and the segments worth fetching
// before it asks for them.
import type { SegmentCache } from './segment-cache';
import type { SegmentIndex } from './segment-index';

export interface PlayerWindow {
  index: SegmentIndex;
  cache: SegmentCache;
  /** The rendition the player loads now; undefined before its first load. */
  rendition: () => string | undefined;
  /** The player's position, seconds. */
  playhead: () => number;
  /** Where what the player buffered from its position on ends, seconds. */
  bufferedTo: () => number;
  /** Seconds ahead of the playhead worth fetching (the player's buffer, now). */
  aheadSecs: () => number;
}

/** The first and last segment of `rendition` worth fetching ahead now. */
export function windowAhead(player: PlayerWindow, rendition: string): [number, number] {
  return player.index.windowAhead(rendition, player.bufferedTo(), player.playhead() + player.aheadSecs());
}
