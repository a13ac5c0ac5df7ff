import { describe, expect, it } from 'vitest';

import { bufferedAhead } from '../../src/player/buffered-ahead';

/** A video element as far as `bufferedAhead` looks at one: its position and buffered ranges. */
function video(currentTime: number, ranges: Array<[number, number]>): Pick<HTMLVideoElement, 'buffered' | 'currentTime'> {
  const buffered = {
    length: ranges.length,
    start: (i: number) => ranges[i]?.[0] ?? Number.NaN,
    end: (i: number) => ranges[i]?.[1] ?? Number.NaN,
  };
  return { currentTime, buffered: buffered as TimeRanges };
}

describe('bufferedAhead', () => {
  it('counts the range the position is in, up to its first gap', () => {
    expect(bufferedAhead(video(10, [[0, 4], [8, 22], [24, 40]]))).toBe(12);
  });

  it('is nothing where nothing is buffered, at the end of a range, or before any', () => {
    expect(bufferedAhead(video(5, [[0, 4], [8, 22]]))).toBe(0);
    expect(bufferedAhead(video(22, [[8, 22]]))).toBe(0);
    expect(bufferedAhead(video(3, []))).toBe(0);
  });

  it('reads across holes no longer than it is told the player plays over', () => {
    const holed = video(10, [[8, 11], [11.1, 13], [13.5, 20]]);
    expect(bufferedAhead(holed)).toBe(1);
    expect(bufferedAhead(holed, 0.2)).toBe(3);
  });

  it('takes a position just before a range (after a seek) as in it', () => {
    expect(bufferedAhead(video(39.95, [[40, 46]]))).toBeCloseTo(6.05);
  });
});
