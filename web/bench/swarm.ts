// Offload benchmark: N viewers of one movie join STAGGER_SECS apart and each
// watches SESSION_SECS, first with the P2P loader, then the same viewers with
// P2P off (hls.js as it comes, same buffer settings). Printed per movie:
// per-viewer bytes by source, downloaded/played, time to first frame and
// stalls, and the origin's bytes (the server's own counter) side by side.
//
// Run by ../bench/p2p.sh; settings from the environment:
//   VIEWERS (6), STAGGER_SECS (10), SESSION_SECS (70), MOVIE_SECS ("120,600").
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';

import { ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from '../e2e/harness';
import { openViewer, report, servedSegmentBytes, type ViewerReport } from '../e2e/viewers';

const VIEWERS = Number(process.env.VIEWERS ?? 6);
const STAGGER_SECS = Number(process.env.STAGGER_SECS ?? 10);
const SESSION_SECS = Number(process.env.SESSION_SECS ?? 70);
const MOVIES = (process.env.MOVIE_SECS ?? '120,600').split(',').map(Number);

let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  server = await startServer(LOOPBACK_SERVER);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

function ingest(seconds: number): Promise<string> {
  return ingestClip(server, `Bench ${seconds} s`, seconds);
}

/** Viewers join STAGGER_SECS apart; each is reported and closed after SESSION_SECS. */
async function session(movie: string, p2p: boolean): Promise<{ viewers: ViewerReport[]; originBytes: number }> {
  const before = await servedSegmentBytes(server.url, movie);
  const viewers: ViewerReport[] = [];
  const sessions: Promise<void>[] = [];
  for (let i = 0; i < VIEWERS; i++) {
    if (i > 0) await sleep(STAGGER_SECS * 1000);
    sessions.push(
      (async () => {
        const page: Page = await openViewer(browser, `${server.url}/movies/${movie}`, { p2p });
        await sleep(SESSION_SECS * 1000);
        viewers[i] = await report(page);
        await page.context().close();
      })(),
    );
  }
  await Promise.all(sessions);
  return { viewers, originBytes: (await servedSegmentBytes(server.url, movie)) - before };
}

function printViewers(mode: string, viewers: ViewerReport[]): void {
  for (const [i, v] of viewers.entries()) {
    const downloaded = v.stats.httpBytes + v.stats.peerBytes;
    console.log(
      [
        mode.padEnd(9),
        String(i + 1).padStart(6),
        v.firstFrameMs.toFixed(0).padStart(8),
        mb(v.stats.httpBytes).padStart(8),
        mb(v.stats.peerBytes).padStart(8),
        `${(v.stats.peerShare * 100).toFixed(1)} %`.padStart(8),
        (downloaded / v.playedBytes).toFixed(2).padStart(11),
        String(v.stalls).padStart(6),
        v.stallMs.toFixed(0).padStart(8),
        ` ${JSON.stringify(v.stats.httpReasons)}`,
      ].join(' '),
    );
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

it('offload: P2P against HTTP only', async () => {
  const lines: string[] = [];
  for (const seconds of MOVIES) {
    const movie = await ingest(seconds);
    const p2p = await session(movie, true);
    const http = await session(movie, false);
    console.log(`\n${seconds} s movie, ${VIEWERS} viewers joining ${STAGGER_SECS} s apart, ${SESSION_SECS} s each`);
    console.log('mode      viewer ttff_ms  http_MB  peer_MB  p2p_share down/played stalls stall_ms  http_reasons');
    printViewers('p2p', p2p.viewers);
    printViewers('http-only', http.viewers);
    const peerBytes = p2p.viewers.reduce((s, v) => s + v.stats.peerBytes, 0);
    const httpBytes = p2p.viewers.reduce((s, v) => s + v.stats.httpBytes, 0);
    const worstRatio = Math.max(...p2p.viewers.map((v) => (v.stats.httpBytes + v.stats.peerBytes) / v.playedBytes));
    const summary = [
      `${seconds} s movie:`,
      `origin ${mb(p2p.originBytes)} MB with P2P vs ${mb(http.originBytes)} MB HTTP only = ${(p2p.originBytes / http.originBytes).toFixed(2)}x;`,
      `peers carried ${((peerBytes / (peerBytes + httpBytes)) * 100).toFixed(1)} % of all bytes;`,
      `worst downloaded/played ${worstRatio.toFixed(2)};`,
      `median time to first frame ${median(p2p.viewers.map((v) => v.firstFrameMs)).toFixed(0)} ms vs ${median(http.viewers.map((v) => v.firstFrameMs)).toFixed(0)} ms;`,
      `stalls ${p2p.viewers.reduce((s, v) => s + v.stalls, 0)} vs ${http.viewers.reduce((s, v) => s + v.stalls, 0)}`,
    ].join(' ');
    console.log(summary);
    lines.push(summary);
  }
  console.log(`\nSUMMARY\n${lines.join('\n')}`);
});
