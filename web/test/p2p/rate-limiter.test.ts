import { describe, expect, it } from 'vitest';

import { TokenBucket } from '../../src/p2p/rate-limiter';

describe('token bucket', () => {
  it('lets a second of bytes through at once, then paces to the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(1_000, () => now);
    expect(bucket.delayFor(1_000)).toBe(0);
    bucket.take(1_000);
    expect(bucket.delayFor(500)).toBe(500);
    now = 250;
    expect(bucket.delayFor(500)).toBe(250);
    now = 2_000;
    expect(bucket.delayFor(1_000), 'refilled, but never past one second').toBe(0);
    bucket.take(1_000);
    expect(bucket.delayFor(1)).toBe(1);
  });

  it('is unlimited at 0', () => {
    const bucket = new TokenBucket(0, () => 0);
    bucket.take(1e12);
    expect(bucket.delayFor(1e9)).toBe(0);
  });
});
