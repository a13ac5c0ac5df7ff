import { describe, expect, it } from 'vitest';

import { parseClock } from '../../src/admin-ui/movie-editor';

describe('parseClock', () => {
  it('reads seconds, minutes and hours', () => {
    expect(parseClock('45')).toBe(45_000);
    expect(parseClock('1:23')).toBe(83_000);
    expect(parseClock(' 1:02:03 ')).toBe(3_723_000);
  });

  it('refuses what is not a time', () => {
    for (const text of ['', 'a:10', '1::2', '1:2:3:4', '-5', '1.5']) expect(parseClock(text)).toBeUndefined();
  });
});
