/**
 * Seconds of `video` buffered from its position on, up to the first gap
 * longer than `holeSecs` (the player plays over shorter ones).
 */
export function bufferedAhead(video: Pick<HTMLVideoElement, 'buffered' | 'currentTime'>, holeSecs = 0): number {
  const { buffered, currentTime } = video;
  for (let i = 0; i < buffered.length; i++) {
    // A position a hair before a range's start (after a seek) counts as in it.
    if (buffered.start(i) <= currentTime + 0.1 && currentTime < buffered.end(i)) {
      let end = buffered.end(i);
      for (let next = i + 1; next < buffered.length && buffered.start(next) - end <= holeSecs; next++) end = buffered.end(next);
      return end - currentTime;
    }
  }
  return 0;
}
