import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { HTTP_SILENCE_MS, watchSilence } from '../../src/p2p/http-silence';

beforeEach(() => vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'performance'] }));
afterEach(() => vi.useRealTimers());

describe('an HTTP load that goes silent', () => {
  it('is reported once, after the silence, counted from its last progress', () => {
    let progress = 0;
    const silent = vi.fn();
    watchSilence(() => progress, silent);
    vi.advanceTimersByTime(HTTP_SILENCE_MS - 500);
    progress = 1;
    vi.advanceTimersByTime(HTTP_SILENCE_MS - 250);
    expect(silent, 'the headers came: the clock started again').not.toHaveBeenCalled();
    vi.advanceTimersByTime(500);
    expect(silent).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * HTTP_SILENCE_MS);
    expect(silent, 'once').toHaveBeenCalledTimes(1);
  });

  it('is never reported while bytes keep coming, however slowly', () => {
    let progress = 0;
    const silent = vi.fn();
    const stop = watchSilence(() => progress, silent);
    for (let i = 0; i < 40; i++) {
      vi.advanceTimersByTime(HTTP_SILENCE_MS - 500);
      progress += 1;
    }
    expect(silent).not.toHaveBeenCalled();
    stop();
    vi.advanceTimersByTime(10 * HTTP_SILENCE_MS);
    expect(silent, 'a load that ended is no longer watched').not.toHaveBeenCalled();
  });
});
