// The binary serving HTTPS itself (`[server] tls_cert` and `tls_key`) at a
// public address, as a one-binary host gives friends a link: the page is a
// secure context, so segments are checked with Web Crypto and shared between
// viewers (the tracker over wss), and the call opens the camera. The browser
// trusts the certificate by its key, as a friend would after accepting it.
//
// Nothing here touches the database, so it runs in the SQLite pass only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { binary, databaseMode, launchBrowser, LOOPBACK_SERVER, makeClip, publicAddress, startServer, type TestServer } from './harness';
import { joinAs } from './room-pages';
import { certificateFor } from './tls-proxy';
import { openViewer, report, waitForPosition } from './viewers';

const address = publicAddress();
let server: TestServer;
let browser: Browser;
let movieId: string;

/** A JSON answer of the server, fetched by a page (Node would not trust the certificate). */
async function fetchJson<T>(page: Page, path: string, init?: RequestInit): Promise<T> {
  return page.evaluate(async ([url, options]) => (await fetch(url, options)).json() as Promise<T>, [`${server.url}${path}`, init] as const);
}

describe.skipIf(databaseMode !== 'sqlite' || address === undefined)('the binary serving HTTPS at a public address', () => {
  beforeAll(async () => {
    const { cert, key, spki } = certificateFor(mkdtempSync(join(tmpdir(), 'https-binary-')), address ?? '');
    server = await startServer({
      ...LOOPBACK_SERVER,
      CINEMESH_SERVER_BIND: `${address}:0`,
      CINEMESH_SERVER_TLS_CERT: cert,
      CINEMESH_SERVER_TLS_KEY: key,
    });
    const clip = join(server.dataDir, 'secure.mp4');
    makeClip(clip, 40);
    execFileSync(binary, ['ingest', clip, '--title', 'Secure clip'], { env: server.env, stdio: 'pipe' });
    browser = await launchBrowser(undefined, [`--ignore-certificate-errors-spki-list=${spki}`]);
    const page = await browser.newPage();
    await page.goto(server.url);
    const found = await fetchJson<{ movies: { id: string }[] }>(page, '/api/movies?q=Secure');
    movieId = found.movies[0]?.id ?? '';
    await page.close();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a. plays, and shares segments checked with Web Crypto between viewers', async () => {
    expect(server.url).toBe(`https://${address}:${new URL(server.url).port}`);
    const movieUrl = `${server.url}/movies/${movieId}`;
    const first = await openViewer(browser, movieUrl);
    expect(await first.evaluate(() => [window.isSecureContext, globalThis.crypto.subtle !== undefined])).toEqual([true, true]);
    await waitForPosition(first, 12, 60_000);
    const second = await openViewer(browser, movieUrl);
    await waitForPosition(second, 30, 60_000);
    const [one, two] = await Promise.all([first, second].map((p: Page) => report(p)));
    if (one === undefined || two === undefined) throw new Error('two reports');
    for (const viewer of [one, two]) {
      expect(viewer.hlsErrors.filter((e) => e.includes('fatal'))).toEqual([]);
      expect(viewer.stats.trackerConnected, 'the tracker socket is up over wss').toBe(true);
      expect(viewer.stats.verificationFailures).toBe(0);
      expect(viewer.stalls).toBe(0);
    }
    expect(two.stats.peerShare, 'the second viewer gets most of its bytes from the first').toBeGreaterThanOrEqual(0.5);
    for (const page of [first, second]) await page.context().close();
  });

  it('b. the call opens the camera, with no word of HTTPS', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.url);
    const { id } = await fetchJson<{ id: string }>(page, '/api/rooms', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ movie_id: movieId }),
    });
    await page.goto(`${server.url}/rooms/${id}`);
    await joinAs(page, 'Ana');
    await page.getByRole('button', { name: 'Join the call' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Camera off' }).count(), { timeout: 15_000 }).toBe(1);
    expect(await page.locator('.call-notice').textContent()).not.toContain('HTTPS');
    await page.context().close();
  });
});
