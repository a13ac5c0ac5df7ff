import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { PlaybackState } from '../../src/protocol/PlaybackState';
import { readyToStart, START_AHEAD_SECS } from '../../src/rooms/start-readiness';
import { SyncController } from '../../src/rooms/sync-controller';
import { FakeVideo } from '../support/fake-video';

describe('ready to start', () => {
  it('needs more than the browser says it can play: most of a segment held', () => {
    const video = new FakeVideo();
    video.currentTime = 83.7;
    video.ranges = [[82, 84]];
    expect(readyToStart(video), '0.3 s held after a seek late in a segment').toBe(false);
    video.ranges = [[82, 86]];
    expect(readyToStart(video)).toBe(true);
  });

  it('starts a room from the beginning on its first 2 s segment alone', () => {
    const video = new FakeVideo();
    video.ranges = [[0, 2.002]];
    expect(readyToStart(video)).toBe(true);
    video.ranges = [[0, START_AHEAD_SECS - 0.1]];
    expect(readyToStart(video)).toBe(false);
  });

  it('asks only for what is left at the end of the movie, whose last range may end short of it', () => {
    const video = new FakeVideo();
    video.currentTime = 119.4;
    video.ranges = [[118, 119.98]];
    expect(readyToStart(video)).toBe(true);
    video.currentTime = 118.9;
    video.ranges = [[118, 119.6]];
    expect(readyToStart(video)).toBe(true);
  });

  it('reads across a hole the player plays over', () => {
    const video = new FakeVideo();
    video.currentTime = 40.2;
    video.ranges = [[40, 41], [41.08, 44]];
    expect(readyToStart(video)).toBe(true);
    video.ranges = [[40, 41], [41.5, 44]];
    expect(readyToStart(video)).toBe(false);
  });

  it('is never ready while seeking or before the browser can play', () => {
    const video = new FakeVideo();
    video.ranges = [[0, 10]];
    video.seeking = true;
    expect(readyToStart(video)).toBe(false);
    video.seeking = false;
    video.readyState = 2;
    expect(readyToStart(video)).toBe(false);
  });

  it('takes a source with no ranges to judge (a MediaStream) at its readyState', () => {
    const video = new FakeVideo();
    video.duration = Number.POSITIVE_INFINITY;
    expect(readyToStart(video)).toBe(true);
  });
});

describe('a scheduled start', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => vi.useRealTimers());

  function startIn(video: FakeVideo, ms: number) {
    const statuses: boolean[] = [];
    const playback: PlaybackState = { position_ms: 83_700, playing: true, rate: 1, seq: 7, anchor_ms: Date.now() + ms };
    const sync = new SyncController(video as unknown as HTMLVideoElement, {
      serverNow: () => Date.now(),
      playback,
      status: (buffering) => statuses.push(buffering),
    });
    sync.stateChanged();
    return { sync, statuses };
  }

  it('waits for a player that holds only a few hundred ms, and says it is buffering', () => {
    const video = new FakeVideo();
    video.currentTime = 83.7;
    video.ranges = [[82, 84]];
    const { sync, statuses } = startIn(video, 1_000);
    expect(statuses.at(-1), 'reported while the room waits to start').toBe(true);
    vi.advanceTimersByTime(1_100);
    expect(video.plays, 'not started with 0.3 s held').toBe(0);
    expect(video.paused).toBe(true);
    // Its next segment arrives: it starts once the room reaches where it waits.
    video.ranges = [[82, 86]];
    vi.advanceTimersByTime(2_000);
    expect(video.plays).toBe(1);
    sync.stop();
  });

  it('keeps saying it is buffering while the room plays past a start it was not ready for', () => {
    const video = new FakeVideo();
    video.currentTime = 83.7;
    video.ranges = [[82, 84]];
    // A seek while playing: the room starts 250 ms later.
    const { sync, statuses } = startIn(video, 250);
    vi.advanceTimersByTime(2_000);
    expect(video.plays, 'armed, not started').toBe(0);
    expect(statuses.at(-1), 'the room is told, past its settling time, that this member waits').toBe(true);
    video.ranges = [[82, 88]];
    vi.advanceTimersByTime(400);
    expect(statuses.at(-1)).toBe(false);
    sync.stop();
  });

  it('starts a player that holds enough on time', () => {
    const video = new FakeVideo();
    video.currentTime = 83.7;
    video.ranges = [[82, 88]];
    const { sync, statuses } = startIn(video, 1_000);
    expect(statuses.at(-1)).toBe(false);
    // The sync's tick falls due at the anchor together with the start's timer, and runs first
    // (fake timers due at the same moment run in the order they were made: the tick's interval first).
    vi.advanceTimersByTime(1_000);
    expect(video.plays).toBe(1);
    expect(video.currentTime, 'started where the room starts, not sent ahead to wait').toBe(83.7);
    sync.stop();
  });
});
