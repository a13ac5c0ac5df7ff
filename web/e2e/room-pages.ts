// A member's page in a room, for the browser tests: joining by name, and how
// far its video is from the room's position.
import type { Page } from 'playwright-core';

/** Fills the name form and waits until the page has a player and a few clock samples. */
export async function joinAs(page: Page, name: string): Promise<void> {
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
  await page.waitForFunction(() => window.cinemeshRoom?.player !== undefined && (window.cinemeshRoom.room.clock.sampleCount ?? 0) >= 3);
}

/** A page to run a function in: Playwright's, or a WebDriver one (webdriver-page.ts). */
export interface Evaluating {
  evaluate<R>(fn: () => R | Promise<R>): Promise<R>;
}

/** |video − room| in ms on one page, on that page's estimate of the server clock. */
export function syncError(page: Evaluating): Promise<number> {
  return page.evaluate(() => {
    const state = window.cinemeshRoom;
    const video = document.querySelector('video');
    if (state === undefined || video === null) return Number.POSITIVE_INFINITY;
    return Math.abs(video.currentTime * 1000 - (state.room.roomPosition() ?? Number.NaN));
  });
}

/** Each page's room state number now: a command sent after this shows as a higher one. */
export function roomSeqs(pages: Evaluating[]): Promise<number[]> {
  return Promise.all(pages.map((page) => page.evaluate(() => window.cinemeshRoom?.room.playback?.seq ?? -1)));
}

/** Where a page's room and video stand (syncStatus). */
export interface SyncStatus {
  /** The room's state number as the page has it. */
  seq: number;
  /** |video − room|, ms. */
  error: number;
  /** Whether the room plays and its start has come. */
  playing: boolean;
  /** Whether the video does what the state says: plays once the start has come, or is paused. */
  settled: boolean;
}

export function syncStatus(page: Evaluating): Promise<SyncStatus> {
  return page.evaluate(() => {
    const room = window.cinemeshRoom?.room;
    const video = document.querySelector('video');
    const state = room?.playback;
    if (room === undefined || video === null || state === undefined) return { seq: -1, error: Number.POSITIVE_INFINITY, playing: false, settled: false };
    const playing = state.playing && room.serverNow() >= state.anchor_ms;
    const settled = state.playing ? playing && !video.paused && !video.seeking : video.paused;
    return { seq: state.seq, error: Math.abs(video.currentTime * 1000 - (room.roomPosition() ?? Number.NaN)), playing, settled };
  });
}

/**
 * Waits until every page is within `syncMs` of the room; returns how long it
 * took, ms. With `since` (roomSeqs before a command), only once each page has
 * the command's state and its video does what it says: before that a page's
 * error is about 0 (the old state, a start still to come, or a seek's target
 * already in currentTime), which says nothing.
 */
export async function allInSync(pages: Evaluating[], withinMs: number, syncMs: number, since?: number[]): Promise<number> {
  const started = Date.now();
  let last: SyncStatus[] = [];
  while (Date.now() - started < withinMs) {
    last = await Promise.all(pages.map(syncStatus));
    const inSync = last.every((s, i) => s.error <= syncMs && (since === undefined || (s.seq > (since[i] ?? Number.POSITIVE_INFINITY) && s.settled)));
    if (inSync) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const described = last.map((s) => `${s.error.toFixed(0)} ms (state ${s.seq}${s.settled ? '' : ', not settled'})`);
  throw new Error(`not in sync within ${withinMs} ms: ${described.join(', ')}`);
}

/** |video − room| on each page every 250 ms for `forMs`; the samples per page, ms. */
export async function sampleSync(pages: Evaluating[], forMs: number): Promise<number[][]> {
  const samples: number[][] = pages.map(() => []);
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    const errors = await Promise.all(pages.map((page) => syncError(page)));
    errors.forEach((error, i) => samples[i]?.push(error));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return samples;
}

/**
 * After a command sent at `sentAt` (Date.now()) when the pages' states were
 * `since` (roomSeqs): how long until every page had it and was within `syncMs`
 * of the room (failing after `settleMs`), then |video − room| per page for
 * `forMs` from `settleMs` after the command: steady sync, as the lab measures
 * it (from 2 s after a play or pause, 3 s after a seek).
 */
export async function syncAfter(
  pages: Evaluating[],
  since: number[],
  sentAt: number,
  settleMs: number,
  syncMs: number,
  forMs: number,
): Promise<{ inSyncMs: number; samples: number[][] }> {
  await allInSync(pages, settleMs - (Date.now() - sentAt), syncMs, since);
  const inSyncMs = Date.now() - sentAt;
  await new Promise((resolve) => setTimeout(resolve, sentAt + settleMs - Date.now()));
  return { inSyncMs, samples: await sampleSync(pages, forMs) };
}

/**
 * An init script that takes every kind of MediaSource away before the page's
 * scripts run: hls.js finds nothing to play with, and the page falls back to
 * the browser's own HLS, as on an iPhone before iOS 17.1.
 */
export function removeMediaSource(): void {
  for (const name of ['MediaSource', 'ManagedMediaSource', 'WebKitMediaSource', 'SourceBuffer', 'ManagedSourceBuffer']) Reflect.deleteProperty(window, name);
}

/**
 * An init script that leaves the page ManagedMediaSource alone, as Safari on
 * an iPhone since iOS 17.1 does. No browser here has it with WebRTC (Chromium
 * has neither it nor a flag for it; WebKitGTK has it, and no WebRTC), so it is
 * MediaSource under that name, with the `streaming` flag and the
 * `startstreaming` event hls.js waits on: what hls.js does on that path runs,
 * not what Safari's media stack does.
 */
export function emulateManagedMediaSource(): void {
  const Base = window.MediaSource;
  class ManagedMediaSource extends Base {
    streaming = false;
    constructor() {
      super();
      this.addEventListener('sourceopen', () => {
        this.streaming = true;
        this.dispatchEvent(new Event('startstreaming'));
      });
    }
  }
  Object.assign(window, { ManagedMediaSource, ManagedSourceBuffer: window.SourceBuffer });
  Reflect.deleteProperty(window, 'MediaSource');
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** Creates a room for `movie` on the server at `serverUrl`: its id and the path that invites to it. */
export async function createRoom(serverUrl: string, movie: string): Promise<{ id: string; invite_path: string }> {
  const response = await fetch(`${serverUrl}/api/rooms`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ movie_id: movie }),
  });
  if (!response.ok) throw new Error(`creating a room: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; invite_path: string };
}
