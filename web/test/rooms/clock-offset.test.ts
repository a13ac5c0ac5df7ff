import { describe, expect, it } from 'vitest';

import { ClockOffset } from '../../src/rooms/clock-offset';

describe('clock offset', () => {
  it('is unknown before a sample, then the server minus the local clock, and the round trip', () => {
    const clock = new ClockOffset();
    expect(clock.offsetMs).toBeUndefined();
    expect(clock.roundTripMs).toBeUndefined();
    // Sent at local 1000, the server stamped 5010 mid-way, back at local 1020.
    clock.add(1_000, 5_010, 1_020);
    expect(clock.offsetMs).toBe(4_000);
    expect(clock.roundTripMs).toBe(20);
    expect(clock.serverTime(2_000)).toBe(6_000);
  });

  it('trusts the fastest round trips, so queueing delay does not move it', () => {
    const clock = new ClockOffset(16, 3);
    for (let i = 0; i < 5; i++) clock.add(i * 1_000, i * 1_000 + 4_000 + 5, i * 1_000 + 10);
    // A reply that waited 400 ms in a queue on the way back.
    clock.add(10_000, 14_005, 10_410);
    expect(clock.offsetMs).toBeCloseTo(4_000, 6);
  });

  it('forgets samples older than its window', () => {
    const clock = new ClockOffset(4, 1);
    clock.add(0, 1_000, 2);
    for (let i = 1; i <= 4; i++) clock.add(i * 100, i * 100 + 2_000 + 10, i * 100 + 20);
    expect(clock.sampleCount).toBe(4);
    expect(clock.offsetMs).toBe(2_000);
  });

  it('ignores samples with a negative round trip', () => {
    const clock = new ClockOffset();
    clock.add(1_000, 0, 900);
    expect(clock.sampleCount).toBe(0);
  });
});
