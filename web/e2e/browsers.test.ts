// The party across browsers: Debian's Firefox ESR (over WebDriver) beside
// Chromium (Playwright), and WebKitGTK as far as its build goes.
// a. A Chromium host and a Firefox guest in one room, with P2P: segments go
//    both ways over data channels, each checked against its SHA-256 by the
//    page that receives it; both are within 100 ms of the room 2 s after the
//    play and stay there (p95 of |video − room| over the 20 s from then).
// b. The two in the call: each gets the other's camera and microphone; the
//    codecs they agreed on are printed.
// c. WebKitGTK as Debian builds it has MediaSource (and ManagedMediaSource)
//    but no RTCPeerConnection: its movie page plays from the server, says
//    P2P is unavailable and why, and stays off the tracker; in a room it is
//    within 100 ms of a Chromium host 2 s after the play, and the call and
//    the file stream say they are unavailable.
// d. In each of the three, the catalog, the movie page and the room fit a
//    phone (360x740; Firefox's and MiniBrowser's windows go down to about 500
//    and 450 px), a tablet (768x1024) and a TV (1920x1080) without a
//    horizontal scroll; screenshots of each go to test-artifacts/screenshots/.
// Nothing here depends on the database's kind: the SQLite pass only.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { By } from 'selenium-webdriver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { P2PStats } from '../src/p2p/types';
import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, screenshotDir, startServer, type TestServer } from './harness';
import { createRoom, type Evaluating, joinAs, percentile, roomSeqs, syncAfter } from './room-pages';
import { type DriverPage, joinInDriver, launchFirefox, launchWebKit } from './webdriver-page';
import { metric } from './viewers';

let server: TestServer;
let chromium: Browser;
let movieId: string;

const SYNC_MS = 100;

/** A Chromium member who opens a room by its invite and joins; camera and microphone are synthetic. */
async function chromiumMember(invite: string, name: string): Promise<Page> {
  const context = await chromium.newContext({ viewport: { width: 900, height: 700 } });
  await context.grantPermissions(['camera', 'microphone']);
  const page = await context.newPage();
  await page.goto(invite);
  await joinAs(page, name);
  return page;
}

/**
 * Play (sent at `playedAt`): everyone within 100 ms of the room within 2 s
 * (printed), then |video − room| on every page every 250 ms for `forMs` from
 * 2 s after the play; the p95 per page, ms.
 */
async function syncP95(pages: Evaluating[], since: number[], playedAt: number, forMs: number): Promise<number[]> {
  const { inSyncMs, samples } = await syncAfter(pages, since, playedAt, 2_000, SYNC_MS, forMs);
  console.log(`everyone within ${SYNC_MS} ms ${inSyncMs} ms after the play`);
  console.log(`sync p50: ${samples.map((s) => percentile(s, 50).toFixed(0)).join(' and ')} ms; max ${samples.map((s) => Math.max(...s).toFixed(0)).join(' and ')} ms`);
  return samples.map((s) => percentile(s, 95));
}

async function waitUntil(page: Evaluating, condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await page.evaluate(condition))) {
    if (Date.now() > deadline) throw new Error(`no ${what} within 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const roomStats = (): P2PStats | undefined => window.cinemeshRoom?.player?.engine.stats();

/** Where the video stands, for a failure's message. */
function videoState(): unknown {
  const video = document.querySelector('video');
  if (video === null) return 'no video';
  const ranges = Array.from({ length: video.buffered.length }, (_, i) => [video.buffered.start(i), video.buffered.end(i)]);
  return { currentTime: video.currentTime, readyState: video.readyState, paused: video.paused, buffered: ranges, error: video.error?.message };
}

const SCREENS = [
  ['phone', 360, 740],
  ['tablet', 768, 1024],
  ['tv', 1920, 1080],
] as const;

/** What the layout test does with a page, in any of the three browsers. */
interface AnyPage extends Evaluating {
  name: string;
  goto: (url: string) => Promise<unknown>;
  setViewport: (width: number, height: number) => Promise<void>;
  screenshot: (path: string) => Promise<unknown>;
  join: (name: string) => Promise<void>;
  close: () => Promise<void>;
}

async function chromiumPage(): Promise<AnyPage> {
  const context = await chromium.newContext();
  const page = await context.newPage();
  return {
    name: 'chromium',
    evaluate: (fn) => page.evaluate(fn),
    goto: (url) => page.goto(url),
    setViewport: (width, height) => page.setViewportSize({ width, height }),
    screenshot: (path) => page.screenshot({ path }),
    join: (name) => joinAs(page, name),
    close: () => context.close(),
  };
}

function driverPage(page: DriverPage): AnyPage {
  return {
    name: page.browserName,
    evaluate: (fn) => page.evaluate(fn),
    goto: (url) => page.goto(url),
    setViewport: (width, height) => page.setViewport(width, height),
    screenshot: (path) => page.screenshot(path),
    join: (name) => joinInDriver(page, name),
    close: () => page.close(),
  };
}

/** How much wider than its viewport the page is, px: 0 when nothing scrolls sideways. */
const overflow = (): number => document.documentElement.scrollWidth - window.innerWidth;

describe.skipIf(databaseMode !== 'sqlite')('browsers other than Chromium', () => {
  beforeAll(async () => {
    server = await startServer(LOOPBACK_SERVER);
    movieId = await ingestClip(server, 'Every browser', 60);
    chromium = await launchBrowser();
  });

  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
  });

  it('a. Chromium and Firefox share segments both ways and stay in sync', async () => {
    const room = await createRoom(server.url, movieId);
    const invite = `${server.url}${room.invite_path}`;
    const host = await chromiumMember(invite, 'Ana');
    const firefox = await launchFirefox();
    try {
      await firefox.goto(invite);
      await joinInDriver(firefox, 'Fox');
      const since = await roomSeqs([host, firefox]);
      const playedAt = Date.now();
      await host.getByTestId('play').click();
      // The room splits its HTTP fetching between the two: each gets the other's share from it.
      const p95 = await syncP95([host, firefox], since, playedAt, 20_000);
      console.log(`sync p95: chromium ${p95[0]?.toFixed(0)} ms, firefox ${p95[1]?.toFixed(0)} ms`);
      for (const error of p95) expect(error).toBeLessThanOrEqual(SYNC_MS);
      const [fromChromium, fromFirefox] = [await host.evaluate(roomStats), await firefox.evaluate(roomStats)];
      for (const [browser, stats] of [['chromium', fromChromium], ['firefox', fromFirefox]] as const) {
        if (stats === undefined) throw new Error(`${browser} has no player`);
        console.log(`${browser}: ${stats.segments.peer} segments (${stats.peerBytes} B) from the peer, uploaded ${stats.uploadedBytes} B, ${stats.segments.http} over HTTP`);
        expect(stats.peerBytes, `${browser} got segments from the other browser`).toBeGreaterThan(0);
        expect(stats.uploadedBytes, `${browser} sent segments to the other browser`).toBeGreaterThan(0);
        expect(stats.verificationFailures, `every segment ${browser} received had the catalog's SHA-256`).toBe(0);
      }

      // b. The call: each side gets the other's camera and microphone.
      await host.getByRole('button', { name: 'Join the call' }).click();
      await firefox.driver.findElement(By.xpath("//button[normalize-space(.)='Join the call']")).click();
      const received = (page: Evaluating): Promise<Record<string, string[]>> =>
        page.evaluate(async () => (await window.cinemeshRoom?.mesh.receivedCodecs()) ?? {});
      const both = async (): Promise<string[][]> => [Object.values(await received(host)).flat(), Object.values(await received(firefox)).flat()];
      await expect
        .poll(async () => (await both()).map((codecs) => codecs.some((c) => c.startsWith('video/')) && codecs.some((c) => c.startsWith('audio/'))), {
          timeout: 20_000,
          interval: 500,
        })
        .toEqual([true, true]);
      const [chromiumGets, firefoxGets] = await both();
      console.log(`call codecs: chromium receives ${chromiumGets?.join(', ')}; firefox receives ${firefoxGets?.join(', ')}`);
      // The other's camera shows: a remote tile's video has a picture that moves.
      const remotePicture = () => {
        const video = document.querySelector<HTMLVideoElement>('.call .tile:not(.no-video) video:not([muted])');
        return video === null ? 0 : video.videoWidth > 0 ? video.currentTime : 0;
      };
      const firstFirefox = await firefox.evaluate(remotePicture);
      const firstChromium = await host.evaluate(remotePicture);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await firefox.evaluate(remotePicture), 'Firefox plays Chromium’s camera').toBeGreaterThan(firstFirefox);
      expect(await host.evaluate(remotePicture), 'Chromium plays Firefox’s camera').toBeGreaterThan(firstChromium);
    } finally {
      await firefox.close();
      await host.context().close();
    }
  });

  it('c. WebKitGTK plays without WebRTC, says so, and keeps in sync in a room', async () => {
    const webkit = await launchWebKit();
    let host: Page | undefined;
    try {
      const peersBefore = await metric(server.url, 'cinemesh_tracker_peers');
      await webkit.goto(`${server.url}/movies/${movieId}`);
      await webkit.waitFor(() => window.cinemeshPlayer !== undefined, undefined, 20_000, 'player');
      await webkit.evaluate(() => {
        const video = document.querySelector('video');
        if (video !== null) {
          video.muted = true;
          void video.play();
        }
      });
      await webkit.waitFor(() => (document.querySelector('video')?.currentTime ?? 0) >= 3, undefined, 20_000, 'playback to 3 s', videoState);
      // Its GStreamer pipeline stops 0.1 s in, at times, and the player moves it on (player/start-stall.ts).
      console.log(`WebKitGTK's video was moved on ${await webkit.evaluate(() => window.cinemeshPlayer?.stallKicks())} times`);
      // Asked of a page that plays: with a video element made on the blank first
      // page, the next page's video stuck before its first frame in 4 of 11 runs.
      const capabilities = await webkit.evaluate(() => ({
        mediaSource: typeof MediaSource !== 'undefined',
        managedMediaSource: 'ManagedMediaSource' in window,
        nativeHls: document.createElement('video').canPlayType('application/vnd.apple.mpegurl'),
        peerConnection: typeof RTCPeerConnection !== 'undefined',
      }));
      console.log(`WebKitGTK: ${JSON.stringify(capabilities)}`);
      // What this test is about: a build that plays through MediaSource without WebRTC.
      expect(capabilities.peerConnection).toBe(false);
      expect(capabilities.mediaSource || capabilities.managedMediaSource).toBe(true);

      const page = await webkit.evaluate(() => ({
        sharing: document.querySelector('[data-testid="sharing-stats"]')?.textContent ?? '',
        shareBox: (document.querySelector('.sharing input') as HTMLInputElement | null)?.disabled ?? false,
        stats: window.cinemeshPlayer?.engine.stats(),
        path: window.cinemeshPlayer?.path,
      }));
      // hls.js takes MediaSource where ManagedMediaSource is there too.
      expect(page.path).toBe('media-source');
      expect(page.sharing).toMatch(/^P2P unavailable: this browser has no WebRTC \(RTCPeerConnection\) · .+ from the server$/);
      expect(page.shareBox, 'the sharing switch cannot be turned on').toBe(true);
      expect(page.stats?.trackerConnected).toBe(false);
      expect(await metric(server.url, 'cinemesh_tracker_peers'), 'nobody is told to connect to it').toBe(peersBefore);

      const room = await createRoom(server.url, movieId);
      const invite = `${server.url}${room.invite_path}`;
      host = await chromiumMember(invite, 'Ana');
      await webkit.goto(invite);
      await joinInDriver(webkit, 'Kit');
      const call = await webkit.evaluate(() => ({
        joinDisabled: [...document.querySelectorAll('.call button')].find((b) => b.textContent === 'Join the call')?.hasAttribute('disabled'),
        notice: document.querySelector('.call')?.textContent ?? '',
        fileStream: [...document.querySelectorAll<HTMLButtonElement>('button')]
          .filter((b) => b.textContent === 'Play a file from this computer')
          .map((b) => ({ disabled: b.disabled, title: b.title })),
      }));
      expect(call.joinDisabled).toBe(true);
      expect(call.notice).toContain('The call is unavailable: this browser has no WebRTC (RTCPeerConnection).');
      expect(call.fileStream).toEqual([{ disabled: true, title: 'Streaming a file to the room needs WebRTC: this browser has no WebRTC (RTCPeerConnection)' }]);
      const since = await roomSeqs([host, webkit]);
      const playedAt = Date.now();
      await host.getByTestId('play').click();
      // Both within 100 ms 2 s after the play (syncP95 fails otherwise). The
      // p95 after it is printed, not held to 100 ms: WebKitGTK's was 3-19 ms in
      // most runs here and 189 ms in one of seven (its GStreamer pipeline).
      const p95 = await syncP95([host, webkit], since, playedAt, 15_000);
      console.log(`sync p95: chromium ${p95[0]?.toFixed(0)} ms, webkit ${p95[1]?.toFixed(0)} ms`);
      const summary = await webkit.evaluate(() => document.querySelector('[data-testid="p2p-summary"]')?.textContent ?? '');
      expect(summary).toMatch(/^P2P unavailable: this browser has no WebRTC/);
    } finally {
      await webkit.close();
      await host?.context().close();
    }
  });
  it('d. the catalog, the movie page and the room fit a phone, a tablet and a TV in each browser', async () => {
    mkdirSync(screenshotDir, { recursive: true });
    const room = await createRoom(server.url, movieId);
    const wide: string[] = [];
    for (const open of [chromiumPage, async () => driverPage(await launchFirefox()), async () => driverPage(await launchWebKit())]) {
      const page = await open();
      try {
        const look = async (what: string, screen: string): Promise<void> => {
          await new Promise((resolve) => setTimeout(resolve, 500));
          const extra = await page.evaluate(overflow);
          if (extra > 0) wide.push(`${page.name} ${what} on a ${screen}: ${extra} px too wide`);
          // Firefox's and MiniBrowser's windows do not get narrower than about 500 and 450 px.
          if (what === 'room') console.log(`${page.name} ${screen}: viewport ${await page.evaluate(() => `${window.innerWidth}x${window.innerHeight}`)}`);
          await page.screenshot(join(screenshotDir, `${page.name}-${what}-${screen}.png`));
        };
        for (const [screen, width, height] of SCREENS) {
          await page.setViewport(width, height);
          await page.goto(`${server.url}/`);
          await waitUntil(page, () => document.querySelector('a[href^="/movies/"]') !== null, 'the catalog');
          await look('catalog', screen);
          await page.goto(`${server.url}/movies/${movieId}`);
          await waitUntil(page, () => window.cinemeshPlayer !== undefined, 'the movie page');
          await look('movie', screen);
        }
        // The room once joined, at each size in turn.
        await page.goto(`${server.url}${room.invite_path}`);
        await page.join(`${page.name} viewer`);
        for (const [screen, width, height] of SCREENS) {
          await page.setViewport(width, height);
          await look('room', screen);
        }
      } finally {
        await page.close();
      }
    }
    expect(wide).toEqual([]);
  });
});
