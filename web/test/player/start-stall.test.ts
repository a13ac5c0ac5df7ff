import { describe, expect, it } from 'vitest';

import { stalledWithData, type VideoMotion } from '../../src/player/start-stall';

const stuck: VideoMotion = { paused: false, seeking: false, readyState: 1, aheadSecs: 17.9 };

describe('stalledWithData', () => {
  it('kicks a playing video that held 18 s and stood still for 3 s', () => {
    expect(stalledWithData(stuck, 0, 3_000)).toBe(true);
    expect(stalledWithData(stuck, 0, 2_900)).toBe(false);
  });

  it('leaves alone a video that waits for data, is paused, seeking, or can play', () => {
    expect(stalledWithData({ ...stuck, aheadSecs: 0.5 }, 0, 10_000)).toBe(false);
    expect(stalledWithData({ ...stuck, paused: true }, 0, 10_000)).toBe(false);
    expect(stalledWithData({ ...stuck, seeking: true }, 0, 10_000)).toBe(false);
    expect(stalledWithData({ ...stuck, readyState: 4 }, 0, 10_000)).toBe(false);
  });
});
