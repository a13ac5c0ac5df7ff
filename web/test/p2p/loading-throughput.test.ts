import { describe, expect, it } from 'vitest';

import { LoadingThroughput } from '../../src/p2p/loading-throughput';

describe('LoadingThroughput', () => {
  it('is bytes over transfer time across recent transfers', () => {
    const rate = new LoadingThroughput();
    expect(rate.bitsPerSecond(0)).toBeUndefined();
    rate.sample(500_000, 1_000, 0); // 4 Mbit/s
    rate.sample(500_000, 3_000, 0); // 1.33 Mbit/s
    expect(rate.bitsPerSecond(0)).toBeCloseTo(2_000_000);
  });

  it('forgets transfers beyond its window and its age limit', () => {
    const rate = new LoadingThroughput();
    rate.sample(1_000_000, 100, 0);
    for (let i = 0; i < 8; i++) rate.sample(100_000, 1_000, 10);
    expect(rate.bitsPerSecond(10)).toBeCloseTo(800_000);
    expect(rate.bitsPerSecond(60_000)).toBeUndefined();
  });

  it('times a load from the cache or a peer at the recent rate, whatever the wait before it', () => {
    const rate = new LoadingThroughput();
    rate.sample(250_000, 1_000, 0); // 2 Mbit/s
    const timings = rate.timings(500_000, 10_000, 50);
    expect(timings.end).toBe(10_000);
    expect(timings.end - timings.first).toBeCloseTo(2_000);
    expect(timings.first).toBeGreaterThan(timings.start);
  });

  it('falls back to the given time before any transfer', () => {
    expect(new LoadingThroughput().timings(500_000, 10_000, 700).first).toBe(9_300);
  });
});
