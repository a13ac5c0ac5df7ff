import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { touchGestures } from '../../src/room-ui/touch-gestures';

/** A 300 px wide target at x = 0 that hands its pointerup listener to the test. */
function target(): { element: HTMLElement; up: (x: number, at: number, pointerType?: string) => void } {
  let listener: ((event: PointerEvent) => void) | undefined;
  const element = {
    getBoundingClientRect: () => ({ left: 0, top: 0, width: 300, height: 170 }),
    addEventListener: (_type: string, fn: (event: PointerEvent) => void) => (listener = fn),
    removeEventListener: () => (listener = undefined),
  } as unknown as HTMLElement;
  return { element, up: (x, at, pointerType = 'touch') => listener?.({ clientX: x, timeStamp: at, pointerType } as PointerEvent) };
}

describe('touchGestures', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('seeks 10 s ahead on a double tap on the right third, back on the left, and taps no single tap', () => {
    const { element, up } = target();
    const seekBy = vi.fn();
    const tap = vi.fn();
    touchGestures(element, { seekBy, tap }, 10_000);
    up(280, 1_000);
    up(285, 1_200);
    up(20, 2_000);
    up(25, 2_150);
    vi.advanceTimersByTime(1_000);
    expect(seekBy.mock.calls).toEqual([[10_000], [-10_000]]);
    expect(tap).not.toHaveBeenCalled();
  });

  it('takes a tap in the middle, slow taps or taps on two sides as single taps', () => {
    const { element, up } = target();
    const seekBy = vi.fn();
    const tap = vi.fn();
    touchGestures(element, { seekBy, tap }, 10_000);
    up(150, 0);
    up(150, 100);
    vi.advanceTimersByTime(400);
    up(280, 1_000);
    vi.advanceTimersByTime(400);
    up(280, 1_500);
    vi.advanceTimersByTime(400);
    up(20, 3_000);
    up(280, 3_100);
    vi.advanceTimersByTime(400);
    expect(seekBy).not.toHaveBeenCalled();
    expect(tap).toHaveBeenCalledTimes(4);
  });

  it('leaves a mouse alone, and stops listening when stopped', () => {
    const { element, up } = target();
    const seekBy = vi.fn();
    const tap = vi.fn();
    const stop = touchGestures(element, { seekBy, tap }, 10_000);
    up(280, 0, 'mouse');
    up(280, 100, 'mouse');
    vi.advanceTimersByTime(400);
    stop();
    up(280, 1_000);
    up(280, 1_100);
    vi.advanceTimersByTime(400);
    expect([seekBy.mock.calls.length, tap.mock.calls.length]).toEqual([0, 0]);
  });
});
