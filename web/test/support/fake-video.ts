import type { StartableVideo } from '../../src/rooms/start-readiness';

/** A <video> as the sync controller sees it: one buffered range, played by hand. */
export class FakeVideo implements StartableVideo {
  readyState = 4;
  seeking = false;
  currentTime = 0;
  duration = 120;
  paused = true;
  playbackRate = 1;
  plays = 0;
  ranges: [number, number][] = [];
  get buffered(): TimeRanges {
    const ranges = this.ranges;
    const at = (i: number): [number, number] => ranges[i] ?? [Number.NaN, Number.NaN];
    return { length: ranges.length, start: (i: number) => at(i)[0], end: (i: number) => at(i)[1] } as TimeRanges;
  }
  play(): Promise<void> {
    this.paused = false;
    this.plays++;
    return Promise.resolve();
  }
  pause(): void {
    this.paused = true;
  }
  readonly listeners = new Map<string, Set<() => void>>();
  addEventListener(event: string, listener: () => void): void {
    const set = this.listeners.get(event) ?? new Set();
    set.add(listener);
    this.listeners.set(event, set);
  }
  removeEventListener(event: string, listener: () => void): void {
    this.listeners.get(event)?.delete(listener);
  }
  /** Fires `event` at its listeners, as the browser would. */
  dispatch(event: string): void {
    for (const listener of this.listeners.get(event) ?? []) listener();
  }
}
