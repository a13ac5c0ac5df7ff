// The native seeder (`cinemesh-seeder`, on the webrtc crate) and browsers,
// over real WebRTC on loopback, both ways:
// - a browser downloads from the seeder: the seeder verifies the movie's
//   files against the catalog, joins its swarms through the tracker like a
//   browser and answers the viewer's offer; the viewer, alone with it, gets
//   most of its bytes from it, each segment checked against the catalog's
//   SHA-256 by the page, without a stall; the seeder reports what it uploaded
//   to the tracker, which counts it;
// - the seeder downloads from a browser: started on a folder that lacks the
//   first segments, it offers to a viewer that holds them, fetches them,
//   checks each against the catalog and tells the tracker it holds them.
//
// P2P does not touch the database, so this runs in the SQLite pass only.
import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, repoRoot, startServer, type TestServer } from './harness';
import { openViewer, report, waitForPosition } from './viewers';

const seederBinary = process.env.CINEMESH_SEEDER_BIN ?? join(repoRoot, 'target/debug/cinemesh-seeder');

let server: TestServer;
let browser: Browser;
let movieId: string;
const seeders: ChildProcess[] = [];

interface Seeder {
  /** Its first line: "seeding N segments (B bytes) of M in R; L left out". */
  started: string;
  /** Every line it printed so far. */
  lines: string[];
}

/** Starts a seeder on `mediaDir`; resolves once it says what it seeds. */
function startSeeder(mediaDir: string): Promise<Seeder> {
  const child = spawn(seederBinary, ['--server', server.url, '--movie', movieId, '--media-dir', mediaDir, '--upload-rate', '0'], {
    env: { PATH: process.env.PATH, CINEMESH_LOG: process.env.CINEMESH_TEST_LOG ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  seeders.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.CINEMESH_TEST_LOG !== undefined) process.stderr.write(chunk);
  });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString();
      const complete = partial.split('\n');
      partial = complete.pop() ?? '';
      lines.push(...complete);
      const started = lines.find((l) => l.startsWith('seeding '));
      if (started !== undefined) resolve({ started, lines });
    });
    child.on('exit', (code) => reject(new Error(`the seeder exited with ${code}: ${stderr}`)));
  });
}

describe.skipIf(databaseMode !== 'sqlite')('the native seeder', () => {
  beforeAll(async () => {
    server = await startServer(LOOPBACK_SERVER);
    movieId = await ingestClip(server, 'Seeded clip', 40);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    for (const seeder of seeders) seeder.kill('SIGTERM');
    await browser?.close();
    await server?.stop();
  });

  it('a browser gets most of a movie from the seeder, verified, without a stall', async () => {
    const { started } = await startSeeder(join(server.dataDir, 'media'));
    expect(started).toMatch(/^seeding \d+ segments \(\d+ bytes\) of \w+ in [\w, ]+; 0 left out$/);
    const page = await openViewer(browser, `${server.url}/movies/${movieId}`);
    await waitForPosition(page, 30, 90_000);
    const viewer = await report(page);
    console.log(`from the seeder: ${viewer.stats.peerBytes} of ${viewer.stats.peerBytes + viewer.stats.httpBytes} bytes; reasons ${JSON.stringify(viewer.stats.httpReasons)}`);
    expect(viewer.stats.peerShare, 'most bytes came from the seeder').toBeGreaterThanOrEqual(0.5);
    expect(viewer.stats.verificationFailures).toBe(0);
    expect(viewer.stats.banned).toEqual([]);
    expect(viewer.stalls).toBe(0);
    expect(viewer.corruptedFrames).toBe(0);
    // The seeder tells the tracker what it uploaded (every 5 s).
    await expect
      .poll(async () => {
        const text = await (await fetch(`${server.url}/metrics`)).text();
        const line = text.split('\n').find((l) => l.startsWith('cinemesh_viewer_bytes_total{source="uploaded"}'));
        return Number(line?.split(' ').at(-1) ?? 0);
      }, { timeout: 15_000 })
      .toBeGreaterThanOrEqual(viewer.stats.peerBytes);
    await page.context().close();
    for (const seeder of seeders.splice(0)) seeder.kill('SIGTERM');
  });

  it('the seeder fetches from a browser what its folder lacks, and verifies it', async () => {
    // A viewer watches first (nobody else around): it holds the first segments.
    const page = await openViewer(browser, `${server.url}/movies/${movieId}`);
    await waitForPosition(page, 14, 60_000);
    // The seeder's folder lacks the first five segments of every rendition.
    const folder = mkdtempSync(join(tmpdir(), 'cinemesh-seeder-'));
    cpSync(join(server.dataDir, 'media', movieId), join(folder, movieId), { recursive: true });
    for (const name of readdirSync(join(folder, movieId), { withFileTypes: true })) {
      if (!name.isDirectory()) continue;
      for (let i = 0; i < 5; i++) rmSync(join(folder, movieId, name.name, `seg_${String(i).padStart(5, '0')}.ts`), { force: true });
    }
    const seeder = await startSeeder(folder);
    expect(seeder.started).toMatch(/; [1-9]\d* left out$/);
    // The viewer starts on the lowest rendition and climbs: the first five
    // segments it holds may be of more than one rendition.
    const fetched = (): string[] => seeder.lines.filter((l) => /^fetched \S+\/[0-4] /.test(l));
    await expect.poll(() => fetched().length, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);
    const viewerId = (await report(page)).stats.peerId;
    console.log(fetched().join('\n'));
    for (const line of fetched()) expect(line).toMatch(new RegExp(`^fetched \\S+/[0-4] \\(\\d+ bytes\\) from ${viewerId}$`));
    expect((await report(page)).stats.uploadedBytes, 'the viewer counted the upload').toBeGreaterThan(0);
    await page.context().close();
    rmSync(folder, { recursive: true, force: true });
  });
});
