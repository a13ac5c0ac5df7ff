import { describe, expect, it } from 'vitest';

import { formatBitrate, formatDuration, pageCount } from '../src/format';

describe('formatDuration', () => {
  it('shows minutes and seconds under an hour', () => {
    expect(formatDuration(95_000)).toBe('1:35');
    expect(formatDuration(0)).toBe('0:00');
  });
  it('shows hours when there are any', () => {
    expect(formatDuration(5_025_000)).toBe('1:23:45');
  });
  it('rounds to the nearest second and never goes negative', () => {
    expect(formatDuration(59_600)).toBe('1:00');
    expect(formatDuration(-5)).toBe('0:00');
  });
});

describe('formatBitrate', () => {
  it('uses Mbit/s from a million up', () => {
    expect(formatBitrate(3_220_800)).toBe('3.2 Mbit/s');
  });
  it('uses kbit/s below', () => {
    expect(formatBitrate(800_000)).toBe('800 kbit/s');
  });
});

describe('pageCount', () => {
  it('rounds up and is at least one', () => {
    expect(pageCount(25, 10)).toBe(3);
    expect(pageCount(20, 10)).toBe(2);
    expect(pageCount(0, 10)).toBe(1);
  });
});
