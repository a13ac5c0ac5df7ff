// The first page a person sees, in a real browser against a real server:
// - the catalog shows the demo movie (embedded default) or an ingested one
//   (Postgres), with its poster;
// - search narrows the grid and reports when nothing matches;
// - the movie page plays the movie with hls.js: video.currentTime passes 5 s;
// - deep links and unknown pages render;
// Screenshots of the catalog and the movie page (desktop and phone width) are
// saved under test-artifacts/screenshots/.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { binary, databaseMode, launchBrowser, makeClip, screenshotDir, startServer, type TestServer } from './harness';

const DEMO_TITLE = 'Cinemesh Demo: Test Pattern';
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  if (databaseMode === 'postgres') {
    // The demo movie is an embedded-mode feature; with Postgres, ingest a clip
    // under the same title with the CLI first.
    server = await startServer({ CINEMESH_DEMO_ENABLED: 'false' });
    const clip = join(server.dataDir, 'clip.mp4');
    makeClip(clip, 20);
    execFileSync(binary, ['ingest', clip, '--title', DEMO_TITLE], { env: server.env, stdio: 'pipe' });
  } else {
    server = await startServer({ CINEMESH_DEMO_DURATION_SECS: '20' });
  }
  browser = await launchBrowser();
  mkdirSync(screenshotDir, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function openPage(viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport });
  return context.newPage();
}

describe('catalog and player', () => {
  it('shows the demo movie, opens it, and plays past 5 seconds', async () => {
    const page = await openPage();
    await page.goto(server.url);
    // On a first start the page shows the demo being prepared, then the grid.
    const card = page.locator('a.card', { hasText: DEMO_TITLE });
    await card.waitFor({ timeout: 120_000 });
    const posterLoaded = await card.locator('img').evaluate(async (img: HTMLImageElement) => {
      await img.decode().catch(() => undefined);
      return img.naturalWidth;
    });
    expect(posterLoaded).toBeGreaterThan(0);
    await page.screenshot({ path: join(screenshotDir, 'catalog-desktop.png') });

    await card.click();
    await page.waitForURL(/\/movies\/[a-z0-9]+$/);
    await expect.poll(() => page.locator('h1').textContent()).toBe(DEMO_TITLE);
    const video = page.locator('video');
    await video.evaluate((v: HTMLVideoElement) => {
      v.muted = true;
      return v.play();
    });
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 5, undefined, {
      timeout: 60_000,
    });
    const state = await video.evaluate((v: HTMLVideoElement) => ({
      time: v.currentTime,
      width: v.videoWidth,
      error: v.error?.code ?? null,
    }));
    expect(state.time).toBeGreaterThan(5);
    expect(state.width).toBeGreaterThan(0);
    expect(state.error).toBeNull();
    expect(await page.locator('select[aria-label="Quality"] option').allTextContents()).toEqual(['Auto', '720p', '480p', '360p', '240p']);
    // The first segment is the lowest rendition's: hls.js alone took the
    // master playlist's first (best) one, which took 8 s on a slow shared uplink.
    const firstSegment = await page.evaluate(
      () => performance.getEntriesByType('resource').find((e) => /\/seg_\d+\.ts/.test(e.name))?.name ?? '',
    );
    expect(firstSegment).toMatch(/\/240p\/seg_\d+\.ts/);
    await page.screenshot({ path: join(screenshotDir, 'movie-desktop.png') });
  });

  it('searches the catalog', async () => {
    const page = await openPage();
    await page.goto(`${server.url}/?q=test+pattern`);
    await expect.poll(() => page.locator('a.card').count()).toBe(1);
    await page.locator('input[type=search]').fill('no such movie anywhere');
    await page.waitForURL(/q=no\+such/);
    await page.getByText('No movies match.').waitFor();
  });

  it('renders at phone width', async () => {
    const page = await openPage(PHONE);
    await page.goto(server.url);
    await page.locator('a.card').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(screenshotDir, 'catalog-phone.png') });
    await page.locator('a.card').first().click();
    await page.locator('video').waitFor();
    await page.screenshot({ path: join(screenshotDir, 'movie-phone.png') });
  });

  it('shows clear pages for unknown movies and paths', async () => {
    const page = await openPage();
    await page.goto(`${server.url}/movies/nosuchmovie`);
    await page.getByRole('alert').getByText('movie_not_found').waitFor();
    await page.goto(`${server.url}/nothing/here`);
    await page.getByText('Nothing here at /nothing/here.').waitFor();
  });
});
