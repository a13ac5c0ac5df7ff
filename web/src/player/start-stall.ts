// A video that holds seconds of media yet does not move. WebKitGTK's
// GStreamer pipeline sometimes stops 0.1 s into a movie (`readyState` 1 with
// 18 s buffered: hls.js's own nudge of 0.1 s did not free it) and stays so;
// a seek a little further into what is buffered frees it. In a room the
// sync controller's seek would too, but only once the video is 2 s behind,
// and nothing does on the movie page.

/** How long a video may stand still while it should play, ms. */
const STILL_FOR_MS = 3_000;
/** How far a kick seeks into the buffer, s. */
const KICK_SECS = 0.5;
/** The buffer ahead it needs to seek into, s. */
const KICK_NEEDS_AHEAD_SECS = 1;
const HAVE_FUTURE_DATA = 3;

export interface VideoMotion {
  paused: boolean;
  seeking: boolean;
  readyState: number;
  /** Seconds buffered ahead of currentTime. */
  aheadSecs: number;
}

/** Whether a video still since `stillSinceMs` (at the same currentTime) should be kicked at `nowMs`. */
export function stalledWithData(video: VideoMotion, stillSinceMs: number, nowMs: number): boolean {
  return (
    !video.paused &&
    !video.seeking &&
    video.readyState < HAVE_FUTURE_DATA &&
    video.aheadSecs >= KICK_NEEDS_AHEAD_SECS &&
    nowMs - stillSinceMs >= STILL_FOR_MS
  );
}

/** Watches `video` every second and kicks it when it stalls with data; returns the stop, and counts kicks. */
export function watchStartStalls(video: HTMLVideoElement, aheadSecs: () => number): { stop: () => void; kicks: () => number } {
  let last = video.currentTime;
  let stillSince = performance.now();
  let kicks = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    if (video.currentTime !== last || video.paused) {
      last = video.currentTime;
      stillSince = now;
      return;
    }
    const motion = { paused: video.paused, seeking: video.seeking, readyState: video.readyState, aheadSecs: aheadSecs() };
    if (!stalledWithData(motion, stillSince, now)) return;
    kicks += 1;
    stillSince = now;
    video.currentTime += KICK_SECS;
  }, 1_000);
  return { stop: () => clearInterval(timer), kicks: () => kicks };
}
