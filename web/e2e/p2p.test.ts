// The P2P loader between real Chromium pages over real WebRTC on loopback,
// against a real server (tracker, segment server, catalog):
// a. four viewers joining 10 s apart: each after the first gets >= 60 % of its
//    segment bytes from peers (its own count, and the server's byte counter
//    agrees), downloads <= 1.3x what it plays, and never stalls;
// b. a peer's page closes in the middle of an upload: HTTP fetches the rest of
//    the segment (a byte range), and playback does not stall;
// c. a peer serving corrupted bytes: every bad segment is caught, the peer is
//    banned and reported, playback goes on with intact frames;
// d. P2P off: no tracker socket, no peer connection, every byte from HTTP;
// e. a segment request the origin never answers (a connection that died) is
//    made again within seconds, not after hls.js's 10 s, and nothing stalls.
//
// P2P does not touch the database, so these run in the SQLite pass only.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from './harness';
import { HTTP_SILENCE_MS } from '../src/p2p/http-silence';
import { metric, openViewer, report, servedSegmentBytes, waitForPosition } from './viewers';

let server: TestServer;
let browser: Browser;
let movieUrl: string;
let movieId: string;

const MOVIE_SECS = 80;

describe.skipIf(databaseMode !== 'sqlite')('P2P loader between browsers', () => {
  beforeAll(async () => {
    server = await startServer(LOOPBACK_SERVER);
    movieId = await ingestClip(server, 'Swarm clip', MOVIE_SECS);
    movieUrl = `${server.url}/movies/${movieId}`;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function closeAll(pages: Page[]): Promise<void> {
    for (const page of pages) await page.context().close();
  }

  it('d. with P2P off nothing is announced and no peer is contacted', async () => {
    const page = await openViewer(browser, movieUrl, { p2p: false });
    await waitForPosition(page, 6, 30_000);
    const viewer = await report(page);
    expect(viewer.trackerSockets).toBe(0);
    expect(viewer.peerConnections).toBe(0);
    expect(await metric(server.url, 'cinemesh_tracker_peers')).toBe(0);
    expect(await page.getByTestId('sharing-stats').textContent()).toContain('P2P off');
    expect(viewer.stats.peerBytes).toBe(0);
    expect(viewer.stats.httpBytes, 'hls.js loads on its own, and is still counted').toBeGreaterThan(0);
    expect(viewer.segments.every((s) => s.source === 'http' && s.reason === 'p2p_off')).toBe(true);
    await closeAll([page]);
  });

  it('e. a segment request that gets no answer is made again within seconds, and the movie plays on', async () => {
    // The first request of segment 10 (whatever its rendition) is held for ever, as over a
    // connection whose answer goes to an address the home no longer has.
    const requestedAt: number[] = [];
    const page = await openViewer(browser, movieUrl, {}, async (context) => {
      await context.route('**/seg_00010.ts', async (route) => {
        requestedAt.push(Date.now());
        if (requestedAt.length > 1) await route.continue();
      });
    });
    await waitForPosition(page, 26, 60_000);
    const viewer = await report(page);
    expect(requestedAt.length, 'segment 10 was asked for again').toBeGreaterThanOrEqual(2);
    const again = (requestedAt[1] ?? 0) - (requestedAt[0] ?? 0);
    console.log(`segment 10 asked for again ${again} ms after the request that got no answer`);
    expect(again, "made again after the loader's silence limit, not after hls.js's 10 s timeout").toBeLessThan(HTTP_SILENCE_MS + 3_000);
    expect(viewer.stats.silentHttpLoads).toBe(1);
    expect(viewer.stalls).toBe(0);
    expect(viewer.hlsErrors.filter((error) => error.includes('fatal'))).toEqual([]);
    await closeAll([page]);
  });

  it('a. viewers after the first get most of their bytes from peers, fetch nothing past the buffer, and never stall', async () => {
    const servedBefore = await servedSegmentBytes(server.url, movieId);
    const pages: Page[] = [];
    for (let i = 0; i < 4; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 10_000));
      pages.push(await openViewer(browser, movieUrl));
    }
    for (const page of pages) await waitForPosition(page, 70, 120_000);
    const viewers = await Promise.all(pages.map((p) => report(p)));
    const served = (await servedSegmentBytes(server.url, movieId)) - servedBefore;
    const table = viewers.map((v, i) => ({
      viewer: i + 1,
      fromPeers: `${(v.stats.peerShare * 100).toFixed(1)} %`,
      httpBytes: v.stats.httpBytes,
      peerBytes: v.stats.peerBytes,
      downloadedPerPlayed: ((v.stats.httpBytes + v.stats.peerBytes) / v.playedBytes).toFixed(2),
      stalls: v.stalls,
      lanes: Math.max(0, ...v.stats.peers.map((p) => p.lanes)),
      reasons: JSON.stringify(v.stats.httpReasons),
    }));
    console.table(table);
    for (const [i, v] of viewers.entries()) {
      expect(v.hlsErrors.filter((e) => e.includes('fatal'))).toEqual([]);
      expect(v.stalls, `viewer ${i + 1} stalled`).toBe(0);
      expect(v.stats.httpBytes + v.stats.peerBytes, `viewer ${i + 1} downloaded/played`).toBeLessThanOrEqual(1.3 * v.playedBytes);
      if (i > 0) expect(v.stats.peerShare, `viewer ${i + 1} share from peers`).toBeGreaterThanOrEqual(0.6);
      // Downloading from peers, it holds more than one connection to one of them (lanes).
      if (i > 0) expect(table[i]?.lanes, `viewer ${i + 1} lanes to a peer`).toBeGreaterThanOrEqual(2);
    }
    // The server saw exactly the HTTP bytes the viewers counted (the others came from peers).
    const clientHttp = viewers.reduce((sum, v) => sum + v.stats.httpBytes, 0);
    expect(served).toBeGreaterThanOrEqual(clientHttp);
    expect(served).toBeLessThanOrEqual(clientHttp * 1.02 + 1_000_000);
    const totalPlayed = viewers.reduce((sum, v) => sum + v.playedBytes, 0);
    expect(served / totalPlayed, 'origin bytes over bytes played').toBeLessThan(0.5);
    // Each connection told the tracker what carried it: on loopback, host candidates only.
    expect(await metric(server.url, 'cinemesh_ice_pairs_total{kind="segments",pair="host"}'), 'segment links counted by pair').toBeGreaterThanOrEqual(3);
    await closeAll(pages);
  });

  it('b. a peer that leaves in the middle of an upload costs an HTTP fetch, not a stall', async () => {
    // A slow uploader, so that a transfer is surely in the middle when its page closes.
    const uploader = await openViewer(browser, movieUrl, { uploadBytesPerSec: 100_000 });
    await waitForPosition(uploader, 12, 30_000);
    const { peerId: uploaderId } = (await report(uploader)).stats;
    const downloader = await openViewer(browser, movieUrl);
    await downloader.waitForFunction(
      (id) => window.cinemeshPlayer?.engine.stats().peers.some((p) => p.id === id && p.inFlightBytes > 0) ?? false,
      uploaderId,
      { timeout: 30_000, polling: 50 },
    );
    const inFlight = await downloader.evaluate(
      (id) => window.cinemeshPlayer?.engine.stats().peers.find((p) => p.id === id)?.inFlightBytes ?? 0,
      uploaderId,
    );
    await uploader.context().close();
    await waitForPosition(downloader, 30, 60_000);
    const viewer = await report(downloader);
    console.log(`closed the uploader with ${inFlight} bytes of a segment in flight; reasons ${JSON.stringify(viewer.stats.httpReasons)}`);
    expect(inFlight).toBeGreaterThan(0);
    // Given up when the link closed, when it stopped moving, or (this uploader
    // is slow) when it could no longer finish in time: HTTP either way.
    const abandoned = viewer.segments.filter(
      (s) => s.source === 'http' && ['peer_closed', 'no_first_byte', 'stalled', 'late'].includes(s.reason ?? ''),
    );
    expect(abandoned.length, 'the interrupted segment came over HTTP').toBeGreaterThanOrEqual(1);
    // What the uploader had sent was kept: HTTP fetched only the rest, and the whole passed SHA-256.
    expect(viewer.stats.completedOverHttp, 'segments a peer began and HTTP finished').toBeGreaterThanOrEqual(1);
    expect(viewer.stats.verificationFailures).toBe(0);
    expect(viewer.stalls).toBe(0);
    expect(viewer.hlsErrors.filter((e) => e.includes('fatal'))).toEqual([]);
    await closeAll([downloader]);
  });

  it('c. a peer serving corrupted segments is caught, banned and reported, and playback stays intact', async () => {
    const reportsBefore = await metric(server.url, 'cinemesh_tracker_peer_reports_total');
    const manifest = (await (await fetch(`${server.url}/api/movies/${movieId}/segments`)).json()) as { renditions: { name: string }[] };
    const corrupt = await openViewer(browser, movieUrl);
    await waitForPosition(corrupt, 20, 30_000);
    // Its whole cache goes bad: one flipped byte per segment.
    const poisoned = await corrupt.evaluate((names) => {
      const cache = window.cinemeshPlayer?.engine.cache;
      if (cache === undefined) return 0;
      let count = 0;
      for (const name of names) {
        for (const sequence of cache.holdings(name)) {
          const bytes = cache.get(name, sequence);
          if (bytes === undefined) continue;
          bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
          count += 1;
        }
      }
      return count;
    }, manifest.renditions.map((r) => r.name));
    const { peerId: corruptId } = (await report(corrupt)).stats;
    const victim = await openViewer(browser, movieUrl);
    await waitForPosition(victim, 30, 60_000);
    const viewer = await report(victim);
    console.log(`poisoned ${poisoned} segments; victim ${JSON.stringify({ ...viewer.stats, peers: viewer.stats.peers.length })}`);
    expect(poisoned).toBeGreaterThan(5);
    expect(viewer.stats.verificationFailures, 'the bad segment was caught').toBeGreaterThanOrEqual(1);
    expect(viewer.stats.banned).toEqual([corruptId]);
    expect(viewer.stats.peerBytes, 'no byte from the corrupt peer was accepted').toBe(0);
    expect(viewer.segments.filter((s) => s.source === 'peer')).toEqual([]);
    expect(viewer.stalls).toBe(0);
    expect(viewer.corruptedFrames).toBe(0);
    expect(viewer.decodedFrames).toBeGreaterThan(25 * 20);
    expect(viewer.hlsErrors).toEqual([]);
    expect(await metric(server.url, 'cinemesh_tracker_peer_reports_total')).toBe(reportsBefore + 1);
    await closeAll([corrupt, victim]);
  });
});
