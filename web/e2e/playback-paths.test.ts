// Playback paths beyond MediaSource, in Chromium.
// The browser's own HLS, where there is no MediaSource (Safari on the iPhone
// before iOS 17.1). Chromium plays HLS itself too; a page whose MediaSource,
// ManagedMediaSource and WebKitMediaSource are taken away before any of its
// scripts run is such a browser.
// a. Its movie page plays through the video element alone, says P2P is
//    unavailable and why, keeps off the tracker, and still counts the bytes
//    it loaded (from resource timing).
// b. In a room beside a Chromium host with P2P, the room's clock drives that
//    plain video element: everyone is within 100 ms 2 s after the play and
//    after a pause, 3 s after a seek, and |video − room| has p95 ≤ 100 ms
//    from then on (15 s after the play, 10 s after the seek).
// c. ManagedMediaSource without MediaSource (an iPhone since iOS 17.1),
//    emulated (room-pages.ts says why): hls.js takes it, and the P2P loader
//    works on it: in a room with a Chromium host, segments come from the host,
//    each checked against its SHA-256, and sync holds as in b.
// Nothing here depends on the database's kind: the SQLite pass only.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from './harness';
import { createRoom, emulateManagedMediaSource, joinAs, percentile, removeMediaSource, roomSeqs, syncAfter } from './room-pages';
import { metric } from './viewers';

let server: TestServer;
let browser: Browser;
let movieId: string;

const SYNC_MS = 100;

/** A context whose pages run `script` before their own (no MediaSource of any kind, or only ManagedMediaSource). */
async function contextWith(script: () => void): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  await context.addInitScript(script);
  return context;
}

/** A command's figures: how long until everyone was within 100 ms, then the p95 per page of steady sync. */
async function afterCommand(pages: Page[], what: string, since: number[], sentAt: number, settleMs: number, forMs: number): Promise<number[]> {
  const { inSyncMs, samples } = await syncAfter(pages, since, sentAt, settleMs, SYNC_MS, forMs);
  console.log(`everyone within ${SYNC_MS} ms ${inSyncMs} ms after the ${what}`);
  if (forMs === 0) return [];
  const p95 = samples.map((s) => percentile(s, 95));
  console.log(`after the ${what}: |video − room| p50 ${samples.map((s) => percentile(s, 50).toFixed(0)).join(' and ')} ms, p95 ${p95.map((p) => p.toFixed(0)).join(' and ')} ms, max ${samples.map((s) => Math.max(...s).toFixed(0)).join(' and ')} ms (host and guest)`);
  return p95;
}

describe.skipIf(databaseMode !== 'sqlite')('playback paths beyond MediaSource', () => {
  beforeAll(async () => {
    server = await startServer(LOOPBACK_SERVER);
    movieId = await ingestClip(server, 'Native HLS', 60);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a. the movie page plays natively, says P2P is unavailable and stays off the tracker', async () => {
    const context = await contextWith(removeMediaSource);
    try {
      const page = await context.newPage();
      const peersBefore = await metric(server.url, 'cinemesh_tracker_peers');
      await page.goto(`${server.url}/movies/${movieId}`);
      await page.waitForFunction(() => window.cinemeshPlayer !== undefined);
      expect(await page.evaluate(() => ({ mediaSource: 'MediaSource' in window, path: window.cinemeshPlayer?.path, hls: window.cinemeshPlayer?.hls !== undefined }))).toEqual({
        mediaSource: false,
        path: 'native',
        hls: false,
      });
      await page.evaluate(() => {
        const video = document.querySelector('video');
        if (video !== null) {
          video.muted = true;
          void video.play();
        }
      });
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) >= 3, undefined, { timeout: 20_000 });
      await expect.poll(() => page.getByTestId('sharing-stats').textContent(), { timeout: 10_000 }).toMatch(
        /^P2P unavailable: this browser plays HLS itself \(no MediaSource\), so segments never pass through the page · [1-9][\d.]* [kM]?B from the server$/,
      );
      expect(await page.locator('.sharing input').evaluateAll((boxes) => boxes.map((b) => (b as HTMLInputElement).disabled))).toEqual([true, true]);
      expect(await page.getByTestId('quality-menu').isDisabled(), 'the browser picks the quality').toBe(true);
      const stats = await page.evaluate(() => window.cinemeshPlayer?.engine.stats());
      expect(stats?.trackerConnected).toBe(false);
      expect(stats?.httpReasons.p2p_off ?? 0, 'each segment the browser fetched is counted').toBeGreaterThan(0);
      expect(await metric(server.url, 'cinemesh_tracker_peers'), 'nobody is told to connect to it').toBe(peersBefore);
    } finally {
      await context.close();
    }
  });

  it('b. in a room, the room’s clock drives the plain video element', async () => {
    const room = await createRoom(server.url, movieId);
    const invite = `${server.url}${room.invite_path}`;
    const hostContext = await browser.newContext({ viewport: { width: 900, height: 700 } });
    const nativeContext = await contextWith(removeMediaSource);
    try {
      const host = await hostContext.newPage();
      await host.goto(invite);
      await joinAs(host, 'Ana');
      const guest = await nativeContext.newPage();
      await guest.goto(invite);
      await joinAs(guest, 'Nat');
      expect(await guest.evaluate(() => window.cinemeshRoom?.player?.path)).toBe('native');
      expect(await host.evaluate(() => window.cinemeshRoom?.player?.path)).toMatch(/media-source$/);
      const pages = [host, guest];

      let since = await roomSeqs(pages);
      let sentAt = Date.now();
      await host.getByTestId('play').click();
      for (const p95 of await afterCommand(pages, 'play', since, sentAt, 2_000, 15_000)) expect(p95).toBeLessThanOrEqual(SYNC_MS);

      since = await roomSeqs(pages);
      sentAt = Date.now();
      await host.getByTestId('play').click();
      await afterCommand(pages, 'pause', since, sentAt, 2_000, 0);
      expect(await guest.evaluate(() => document.querySelector('video')?.paused)).toBe(true);
      since = await roomSeqs(pages);
      sentAt = Date.now();
      await host.getByTestId('play').click();
      await afterCommand(pages, 'play', since, sentAt, 2_000, 0);

      // A seek 20 s ahead, into what neither player holds.
      since = await roomSeqs(pages);
      sentAt = Date.now();
      await host.evaluate(() => {
        const room = window.cinemeshRoom?.room;
        room?.control({ action: 'seek', position_ms: Math.round((room.roomPosition() ?? 0) + 20_000) });
      });
      for (const p95 of await afterCommand(pages, 'seek', since, sentAt, 3_000, 10_000)) expect(p95).toBeLessThanOrEqual(SYNC_MS);

      expect(await guest.getByTestId('p2p-summary').textContent()).toMatch(/^P2P unavailable: this browser plays HLS itself/);
    } finally {
      await nativeContext.close();
      await hostContext.close();
    }
  });

  it('c. on ManagedMediaSource the P2P loader takes segments from peers and the room keeps in sync', async () => {
    const room = await createRoom(server.url, movieId);
    const invite = `${server.url}${room.invite_path}`;
    const hostContext = await browser.newContext({ viewport: { width: 900, height: 700 } });
    const managedContext = await contextWith(emulateManagedMediaSource);
    try {
      const host = await hostContext.newPage();
      await host.goto(invite);
      await joinAs(host, 'Ana');
      const guest = await managedContext.newPage();
      await guest.goto(invite);
      await joinAs(guest, 'Mia');
      expect(await guest.evaluate(() => ({ mediaSource: 'MediaSource' in window, path: window.cinemeshRoom?.player?.path }))).toEqual({
        mediaSource: false,
        path: 'managed-media-source',
      });
      const since = await roomSeqs([host, guest]);
      const sentAt = Date.now();
      await host.getByTestId('play').click();
      for (const p95 of await afterCommand([host, guest], 'play', since, sentAt, 2_000, 20_000)) expect(p95).toBeLessThanOrEqual(SYNC_MS);
      const stats = await guest.evaluate(() => window.cinemeshRoom?.player?.engine.stats());
      console.log(`ManagedMediaSource guest: ${stats?.segments.peer} segments from the host, ${stats?.segments.http} over HTTP, ${stats?.verificationFailures} failed checks`);
      expect(stats?.peerBytes, 'segments came from the host').toBeGreaterThan(0);
      expect(stats?.verificationFailures).toBe(0);
    } finally {
      await managedContext.close();
      await hostContext.close();
    }
  });
});
