// Offload benchmark: N viewers of one movie join STAGGER_SECS apart and each
// watches SESSION_SECS, first with the P2P loader, then the same viewers with
// P2P off (hls.js as it comes, same buffer settings). Printed per movie:
// per-viewer bytes by source, downloaded/played, time to first frame and
// stalls, and the origin's bytes (the server's own counter) side by side.
//
// In a network lab (bench/p2p.sh --lab PROFILE runs this inside the lab's
// server host), viewer i watches from home i (cycling through the homes),
// with STUN from coturn, and the movie is the party benchmark's: grain in
// every frame, 480p/360p/240p.
//
// Run by ../bench/p2p.sh; settings from the environment:
//   VIEWERS (6), STAGGER_SECS (10; a list such as "10,0" runs each),
//   SESSION_SECS (70), MOVIE_SECS ("120,600"), PEER_LANES (the loader's
//   default; a list such as "3,1" runs the P2P session once with each number
//   of connections per peer, in the same run).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';

import { ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from '../e2e/harness';
import { currentLab, launchBrowserIn, startTurn, type Turn } from '../e2e/lab';
import { laneCountsFromEnv, openViewer, report, servedSegmentBytes, type ViewerReport } from '../e2e/viewers';

const VIEWERS = Number(process.env.VIEWERS ?? 6);
const STAGGERS = (process.env.STAGGER_SECS ?? '10').split(',').map(Number);
const SESSION_SECS = Number(process.env.SESSION_SECS ?? 70);
const MOVIES = (process.env.MOVIE_SECS ?? '120,600').split(',').map(Number);
/** Connections per peer for the P2P sessions; undefined: the loader's default. */
const LANE_COUNTS = laneCountsFromEnv();
const lab = currentLab();

let server: TestServer;
let turn: Turn | undefined;
/** One browser per home in a lab; one browser for everyone on loopback. */
const browsers: Browser[] = [];

beforeAll(async () => {
  if (lab === undefined) {
    server = await startServer(LOOPBACK_SERVER);
    browsers.push(await launchBrowser());
    return;
  }
  turn = await startTurn(lab, false);
  server = await startServer({ CINEMESH_DEMO_ENABLED: 'false', CINEMESH_SERVER_BIND: `${lab.server.address}:8080`, ...turn.serverEnv });
  for (const home of lab.clients.filter((c) => c.name.endsWith('-c1'))) browsers.push(await launchBrowserIn(home));
});

afterAll(async () => {
  for (const browser of browsers) await browser.close();
  await server?.stop();
  turn?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

function ingest(seconds: number): Promise<string> {
  return lab === undefined
    ? ingestClip(server, `Bench ${seconds} s`, seconds)
    : ingestClip(server, `Bench ${seconds} s`, seconds, '854x480', 18);
}

/** Viewers join `stagger` seconds apart; each is reported and closed after SESSION_SECS. */
async function session(
  movie: string,
  p2p: boolean,
  stagger: number,
  peerLanes?: number,
): Promise<{ viewers: ViewerReport[]; originBytes: number }> {
  const before = await servedSegmentBytes(server.url, movie);
  const viewers: ViewerReport[] = [];
  const sessions: Promise<void>[] = [];
  for (let i = 0; i < VIEWERS; i++) {
    if (i > 0) await sleep(stagger * 1000);
    const browser = browsers[i % browsers.length] as Browser;
    sessions.push(
      (async () => {
        const page: Page = await openViewer(browser, `${server.url}/movies/${movie}`, { p2p, ...(peerLanes === undefined ? {} : { peerLanes }) });
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
  const where = lab === undefined ? 'loopback' : `lab ${lab.profile}, viewer i in home i`;
  for (const seconds of MOVIES) {
    const movie = await ingest(seconds);
    for (const stagger of STAGGERS) {
      const runs: { lanes: number | undefined; result: Awaited<ReturnType<typeof session>> }[] = [];
      for (const lanes of LANE_COUNTS) runs.push({ lanes, result: await session(movie, true, stagger, lanes) });
      const http = await session(movie, false, stagger);
      console.log(`\n${seconds} s movie, ${VIEWERS} viewers joining ${stagger} s apart, ${SESSION_SECS} s each (${where})`);
      console.log('mode      viewer ttff_ms  http_MB  peer_MB  p2p_share down/played stalls stall_ms  http_reasons');
      for (const { lanes, result } of runs) printViewers(lanes === undefined ? 'p2p' : `p2p ${lanes}L`, result.viewers);
      printViewers('http-only', http.viewers);
      for (const { lanes, result: p2p } of runs) {
        const peerBytes = p2p.viewers.reduce((s, v) => s + v.stats.peerBytes, 0);
        const httpBytes = p2p.viewers.reduce((s, v) => s + v.stats.httpBytes, 0);
        const worstRatio = Math.max(...p2p.viewers.map((v) => (v.stats.httpBytes + v.stats.peerBytes) / v.playedBytes));
        const summary = [
          `${seconds} s movie, joining ${stagger} s apart${lanes === undefined ? '' : `, ${lanes} connection(s) per peer`}:`,
          `origin ${mb(p2p.originBytes)} MB with P2P vs ${mb(http.originBytes)} MB HTTP only = ${(p2p.originBytes / http.originBytes).toFixed(2)}x;`,
          `peers carried ${((peerBytes / (peerBytes + httpBytes)) * 100).toFixed(1)} % of all bytes;`,
          `worst downloaded/played ${worstRatio.toFixed(2)};`,
          `median time to first frame ${median(p2p.viewers.map((v) => v.firstFrameMs)).toFixed(0)} ms vs ${median(http.viewers.map((v) => v.firstFrameMs)).toFixed(0)} ms;`,
          `stalls ${p2p.viewers.reduce((s, v) => s + v.stalls, 0)} vs ${http.viewers.reduce((s, v) => s + v.stalls, 0)}`,
        ].join(' ');
        console.log(summary);
        lines.push(summary);
      }
    }
  }
  console.log(`\nSUMMARY\n${lines.join('\n')}`);
});
