// Whether a paused player can start with the room and keep playing. The
// browser's own "can play" (HAVE_FUTURE_DATA) needs only a frame or two past
// the position. After a seek that lands late in a segment, that is a few
// hundred ms: across emulated homes, members said they were ready with 0.3 s
// held, the room started, and they stalled 3.5 s after the seek while their
// next segment was still on its way from a peer. So a member says it is
// ready once it holds a little more than that: most of a segment.
import { bufferedAhead } from '../player/buffered-ahead';

/** HTMLMediaElement.HAVE_FUTURE_DATA: it can play without waiting. */
export const HAVE_FUTURE_DATA = 3;
/**
 * Seconds a paused player holds ahead of its position before it says it can
 * start. Below a 2 s segment, so one whole first segment is enough to start
 * a room from its beginning (the time to first frame does not grow).
 */
export const START_AHEAD_SECS = 1.5;

/** Holes the player plays over (hls.js's `maxBufferHole` is 0.1 s), s. */
const HOLE_SECS = 0.2;
/** How far short of its duration a movie's last buffered range may end, s. */
const END_SLACK_SECS = 0.5;

export type StartableVideo = Pick<HTMLVideoElement, 'readyState' | 'seeking' | 'buffered' | 'currentTime' | 'duration'>;

export function readyToStart(video: StartableVideo): boolean {
  if (video.readyState < HAVE_FUTURE_DATA || video.seeking) return false;
  // A source with no ranges to judge (a MediaStream): its readyState says it all.
  if (video.buffered.length === 0) return true;
  // Near the end there is less left than that to hold.
  const left = Number.isFinite(video.duration) ? video.duration - video.currentTime : Number.POSITIVE_INFINITY;
  return bufferedAhead(video, HOLE_SECS) >= Math.min(START_AHEAD_SECS, left - END_SLACK_SECS);
}
