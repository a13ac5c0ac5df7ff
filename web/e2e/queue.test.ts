// The room's queue between two real Chromium pages: Ana, the host, watches
// one movie with Ben; she adds a second movie from the queue panel and plays
// it now. Both pages switch to it (its player, its swarm), the room starts it
// once both can play, both stay in sync (steady p95 |error| <= 50 ms), and
// segments of the new movie go from one page to the other over P2P. The
// history lists the first movie as stopped, and Ben, without playback
// control, sees the queue but no controls to change it, until Ana lets
// everyone suggest: then he suggests a movie, and everyone sees whose it is. Screenshots of the
// queue at desktop and phone width are saved under test-artifacts/screenshots/.
//
// The queue does not depend on the database beyond the room's row, so this runs in the SQLite pass only.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { SegmentLoaded } from '../src/p2p/types';
import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, screenshotDir, startServer, type TestServer } from './harness';
import { createRoom, joinAs, percentile, syncError } from './room-pages';
import { instrument } from './viewers';

let server: TestServer;
let browser: Browser;
let first: string;
let second: string;

async function openMember(url: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await context.addInitScript(instrument);
  const page = await context.newPage();
  await page.goto(url);
  await joinAs(page, name);
  return page;
}

/** Records, from now on, where each segment of this page's player came from. */
async function watchSegments(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __sources?: string[] };
    w.__sources = [];
    window.cinemeshRoom?.player?.engine.addEventListener('segment', (event) => {
      w.__sources?.push((event as CustomEvent<SegmentLoaded>).detail.source);
    });
  });
}

function sources(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __sources?: string[] }).__sources ?? []);
}

/** The movie this page's player plays, from the master playlist it loaded. */
function playerMovie(page: Page): Promise<string | undefined> {
  return page.evaluate(() => /\/media\/([^/]+)\//.exec(window.cinemeshRoom?.player?.hls?.url ?? '')?.[1]);
}

describe.skipIf(databaseMode !== 'sqlite')("the room's queue", () => {
  beforeAll(async () => {
    server = await startServer(LOOPBACK_SERVER);
    first = await ingestClip(server, 'First feature', 40);
    second = await ingestClip(server, 'Second feature', 40);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('the host queues a movie and plays it now: both pages switch, start together and share its segments', async () => {
    const room = await createRoom(server.url, first);
    const url = `${server.url}${room.invite_path}`;
    const ana = await openMember(url, 'Ana');
    const ben = await openMember(url, 'Ben');
    await ana.getByTestId('play').click();
    await new Promise((resolve) => setTimeout(resolve, 3_000));

    // Ana adds the second feature, and the first again for later, and plays the second now.
    await ana.getByTestId('queue-picker').selectOption({ label: 'Second feature' });
    await ana.getByTestId('queue-add').click();
    await ana.getByTestId('queue-picker').selectOption({ label: 'First feature' });
    await ana.getByTestId('queue-add').click();
    await ben.locator('.queue li', { hasText: 'First feature' }).waitFor({ timeout: 5_000 });
    expect(await ben.locator('.queue li .title').allTextContents(), 'in the order she added them').toEqual(['Second feature', 'First feature']);
    expect(await ben.locator('.queue li button').count(), 'Ben may not change the queue').toBe(0);
    expect(await ben.getByTestId('queue-add').isHidden()).toBe(true);
    const switchedAt = Date.now();
    await ana.getByRole('button', { name: 'Play now: Second feature' }).click();

    // Both pages play the second feature, from its start, together.
    for (const page of [ana, ben]) {
      await page.waitForFunction((movie) => window.cinemeshRoom?.room.nowPlaying?.movie === movie, second);
      await page.waitForFunction(() => {
        const video = document.querySelector('video');
        return window.cinemeshRoom?.room.playback?.playing === true && video !== null && !video.paused && video.currentTime > 0.5;
      }, undefined, { timeout: 15_000 });
      await watchSegments(page);
    }
    console.log(`both pages played the second feature ${Date.now() - switchedAt} ms after "Play now"`);
    expect(await playerMovie(ana)).toBe(second);
    expect(await playerMovie(ben)).toBe(second);
    expect(await ana.locator('.queue li .title').allTextContents(), 'it left the queue').toEqual(['First feature']);
    expect(await ana.locator('.history li').first().textContent()).toMatch(/^First feature · stopped at 0:\d\d$/);
    expect(await ana.title()).toContain('Second feature');

    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const samples: number[][] = [[], []];
    const until = Date.now() + 6_000;
    while (Date.now() < until) {
      const errors = await Promise.all([ana, ben].map(syncError));
      errors.forEach((error, i) => samples[i]?.push(error));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const p95 = samples.map((s) => percentile(s, 95));
    console.log(`steady sync p95 on the second feature: Ana ${p95[0]?.toFixed(1)} ms, Ben ${p95[1]?.toFixed(1)} ms`);
    expect(Math.max(...p95)).toBeLessThanOrEqual(50);

    const [anaSources, benSources] = await Promise.all([sources(ana), sources(ben)]);
    const fromPeers = (list: string[]): number => list.filter((s) => s === 'peer').length;
    console.log(`second feature's segments: Ana ${fromPeers(anaSources)} of ${anaSources.length} from Ben, Ben ${fromPeers(benSources)} of ${benSources.length} from Ana`);
    expect(fromPeers(anaSources) + fromPeers(benSources), "the new movie's segments flowed between the pages").toBeGreaterThan(0);
    // Ana lets everyone suggest: Ben suggests the second feature again.
    await ana.getByTestId('queue-suggestions').check();
    await ben.getByRole('button', { name: 'Suggest' }).waitFor({ timeout: 5_000 });
    await ben.getByTestId('queue-picker').selectOption({ label: 'Second feature' });
    await ben.getByRole('button', { name: 'Suggest' }).click();
    await ana.locator('.queue li', { hasText: 'suggested by Ben' }).waitFor({ timeout: 5_000 });
    expect(await ben.locator('.queue li button').count(), 'suggesting is all').toBe(0);

    mkdirSync(screenshotDir, { recursive: true });
    await ana.locator('.history-row summary').click();
    await ana.locator('.queue-panel').screenshot({ path: join(screenshotDir, 'queue-desktop.png') });
    await ana.setViewportSize({ width: 390, height: 844 });
    expect(await ana.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scroll on a phone').toBe(true);
    await ana.locator('.queue-panel').screenshot({ path: join(screenshotDir, 'queue-phone.png') });
    for (const page of [ana, ben]) await page.context().close();
  });
});
