import { describe, expect, it } from 'vitest';

import { correct, DEFAULT_CORRECTION } from '../../src/rooms/drift-correction';

const settled = 10_000;

describe('drift correction', () => {
  it('leaves errors inside the dead band alone', () => {
    expect(correct(10_025, 10_000, settled)).toEqual({ kind: 'hold', rate: 1 });
    expect(correct(9_975, 10_000, settled)).toEqual({ kind: 'hold', rate: 1 });
  });

  it('corrects a steady offset just outside the band until it is nearly gone', () => {
    const started = correct(9_965, 10_000, settled);
    expect(started.kind).toBe('rate');
    expect(started.kind === 'rate' && started.rate).toBeCloseTo(1 + 35 / 1_500, 6);
    expect(correct(9_985, 10_000, settled, true).kind, 'under way: on until within the inner edge').toBe('rate');
    expect(correct(9_995, 10_000, settled, true)).toEqual({ kind: 'hold', rate: 1 });
    expect(correct(9_985, 10_000, settled, false), 'not started inside the outer edge').toEqual({ kind: 'hold', rate: 1 });
  });

  it('slows down when ahead and speeds up when behind, within 0.95–1.05', () => {
    const ahead = correct(10_200, 10_000, settled);
    const behind = correct(9_800, 10_000, settled);
    expect(ahead).toEqual({ kind: 'rate', rate: 0.95 });
    expect(behind).toEqual({ kind: 'rate', rate: 1.05 });
    const slightlyBehind = correct(9_940, 10_000, settled);
    expect(slightlyBehind.kind).toBe('rate');
    expect(slightlyBehind.kind === 'rate' && slightlyBehind.rate).toBeCloseTo(1.04, 6);
    expect(correct(8_500, 10_000, settled)).toEqual({ kind: 'rate', rate: DEFAULT_CORRECTION.maxRate });
  });

  it('seeks beyond two seconds, then waits out the cooldown', () => {
    expect(correct(5_000, 10_000, settled)).toEqual({ kind: 'seek', positionMs: 10_000 });
    expect(correct(15_000, 10_000, settled)).toEqual({ kind: 'seek', positionMs: 10_000 });
    expect(correct(5_000, 10_000, 500), 'just after a seek nothing is judged').toEqual({ kind: 'hold', rate: 1 });
  });
});
