import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { PlaybackState } from '../../src/protocol/PlaybackState';
import { SyncController } from '../../src/rooms/sync-controller';
import { FakeVideo } from '../support/fake-video';

describe('a video armed ahead of a playing room', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_000_000, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('does not start from a start it gave up: re-armed further ahead, it waits for its new point', () => {
    // The room plays from 10 s; the video joins it paused and wholly buffered.
    const playing: PlaybackState = { position_ms: 10_000, playing: true, rate: 1, seq: 3, anchor_ms: Date.now() };
    let skewMs = 0;
    const video = new FakeVideo();
    video.ranges = [[0, 90]];
    const sync = new SyncController(video as unknown as HTMLVideoElement, { serverNow: () => Date.now() + skewMs, playback: playing });
    sync.tick();
    expect(video.paused, 'armed: paused a little ahead of the room').toBe(true);
    const armedAt = video.currentTime;
    expect(armedAt).toBeGreaterThan(10);
    // The next tick finds it ready and times its start for when the room gets there.
    vi.advanceTimersByTime(200);
    expect(video.plays).toBe(0);
    // Before that start goes off, the room's clock moves on past the point (a
    // new clock offset, or a tick that ran late on a busy machine): the video
    // is armed further ahead, where nothing is buffered yet.
    skewMs = 1_000;
    video.ranges = [[0, armedAt + 0.5]];
    vi.advanceTimersByTime(200);
    expect(video.currentTime, 'armed again, further ahead').toBeGreaterThan(armedAt + 1);
    video.seeking = true;
    video.readyState = 1;
    // The start it had timed is past: a video started now would play into a seek with nothing to show.
    vi.advanceTimersByTime(1_000);
    expect(video.plays, 'not started while its seek is still loading').toBe(0);
    expect(video.paused).toBe(true);
    // Its new point loads, and it starts when the room reaches it.
    video.ranges = [[0, 90]];
    video.seeking = false;
    video.readyState = 4;
    // (The fake does not play on by itself: only up to the first tick after the start.)
    vi.advanceTimersByTime(300);
    expect(video.plays).toBe(1);
    expect(video.paused).toBe(false);
    sync.stop();
  });

  it('arms at once when the start it waits for was timed on a clock since corrected', () => {
    const video = new FakeVideo();
    video.currentTime = 30;
    video.ranges = [[0, 90]];
    let skewMs = 0;
    // A start 1 s ahead on this page's clock, which is 3 s behind the server's until the next pong says so.
    const playback: PlaybackState = { position_ms: 30_000, playing: true, rate: 1, seq: 4, anchor_ms: Date.now() + 1_000 };
    const sync = new SyncController(video as unknown as HTMLVideoElement, { serverNow: () => Date.now() + skewMs, playback });
    sync.stateChanged();
    skewMs = 3_000;
    vi.advanceTimersByTime(200);
    expect(video.paused).toBe(true);
    expect(video.currentTime, 'armed where the room is now, 2 s into the movie since its start, not left waiting').toBeGreaterThan(32);
    // It starts when the room reaches the point it waits at, long before the stale timer would have gone off.
    vi.advanceTimersByTime(700);
    expect(video.plays).toBe(1);
    sync.stop();
  });

  it('starts at once from where it waits when the start is heard a little after its moment', () => {
    const video = new FakeVideo();
    video.currentTime = 30;
    video.ranges = [[0, 90]];
    const room: { serverNow: () => number; playback: PlaybackState } = {
      serverNow: () => Date.now(),
      playback: { position_ms: 30_000, playing: false, rate: 1, seq: 4, anchor_ms: Date.now() },
    };
    const sync = new SyncController(video as unknown as HTMLVideoElement, room);
    sync.tick();
    expect(video.paused).toBe(true);
    // The start was for 60 ms ago: it went out late, or the page was busy.
    room.playback = { position_ms: 30_000, playing: true, rate: 1, seq: 5, anchor_ms: Date.now() - 60 };
    sync.stateChanged();
    expect(video.plays, 'started on hearing it').toBe(1);
    expect(video.currentTime, 'from where it waited, not armed ahead').toBe(30);
    // At the next tick the room is 260 ms in; the video started 60 ms behind
    // and its first frame took 120 ms more: 180 ms behind, over the 150 ms a
    // start may miss by, but not a miss of this start, which began late.
    video.currentTime = 30.08;
    vi.advanceTimersByTime(200);
    expect(video.paused, 'caught up by rate, not paused and armed again').toBe(false);
    expect(video.playbackRate).toBeGreaterThan(1);
    sync.stop();
  });

  it('arms as before when the start is heard long after its moment', () => {
    const video = new FakeVideo();
    video.currentTime = 30;
    video.ranges = [[0, 90]];
    const room: { serverNow: () => number; playback: PlaybackState } = {
      serverNow: () => Date.now(),
      playback: { position_ms: 30_000, playing: true, rate: 1, seq: 5, anchor_ms: Date.now() - 400 },
    };
    const sync = new SyncController(video as unknown as HTMLVideoElement, room);
    sync.stateChanged();
    expect(video.plays).toBe(0);
    expect(video.currentTime, 'armed ahead of the room').toBeGreaterThan(30.4);
    sync.stop();
  });

  it('says it is ready as soon as the video can play, not at the next tick', () => {
    const video = new FakeVideo();
    video.readyState = 1;
    const said: boolean[] = [];
    const room = {
      serverNow: () => Date.now(),
      playback: { position_ms: 0, playing: false, rate: 1, seq: 1, anchor_ms: Date.now() } satisfies PlaybackState,
      status: (buffering: boolean) => said.push(buffering),
    };
    const sync = new SyncController(video as unknown as HTMLVideoElement, room);
    sync.tick();
    expect(said).toEqual([true]);
    // Its first segment is decoded: the browser says it can play.
    video.ranges = [[0, 2]];
    video.readyState = 4;
    video.dispatch('canplay');
    expect(said).toEqual([true, false]);
    sync.stop();
    expect(video.listeners.get('canplay')?.size, 'stopped: the video is left alone').toBe(0);
  });
});
