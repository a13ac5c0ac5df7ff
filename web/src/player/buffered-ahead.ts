/** Seconds of `video` buffered from its position on, up to the first gap. */
export function bufferedAhead(video: Pick<HTMLVideoElement, 'buffered' | 'currentTime'>): number {
  const { buffered, currentTime } = video;
  for (let i = 0; i < buffered.length; i++) {
    // A position a hair before a range's start (after a seek) counts as in it.
    if (buffered.start(i) <= currentTime + 0.1 && currentTime < buffered.end(i)) return buffered.end(i) - currentTime;
  }
  return 0;
}
