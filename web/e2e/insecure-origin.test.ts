// A page opened over plain HTTP at a public address, as friends reach a server
// at home: browsers treat it as an insecure context (no `crypto.subtle`, no
// camera or microphone). Proves:
// a. the P2P loader still verifies and shares segments between viewers;
// b. the call says what needs HTTPS instead of failing silently.
//
// P2P does not touch the database, so these run in the SQLite pass only.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, publicAddress, startServer, type TestServer } from './harness';
import { createRoom } from './room-pages';
import { openViewer, report, waitForPosition } from './viewers';

const address = publicAddress();
let server: TestServer;
let browser: Browser;
let movieId: string;

describe.skipIf(databaseMode !== 'sqlite' || address === undefined)('a page over plain HTTP at a public address', () => {
  beforeAll(async () => {
    server = await startServer({ ...LOOPBACK_SERVER, CINEMESH_SERVER_BIND: `${address}:0` });
    movieId = await ingestClip(server, 'Insecure clip', 40);
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a. shares verified segments between viewers without Web Crypto', async () => {
    expect(server.url).toContain(address);
    const movieUrl = `${server.url}/movies/${movieId}`;
    const first = await openViewer(browser, movieUrl);
    expect(await first.evaluate(() => [window.isSecureContext, globalThis.crypto.subtle === undefined])).toEqual([false, true]);
    await waitForPosition(first, 12, 60_000);
    const second = await openViewer(browser, movieUrl);
    await waitForPosition(second, 30, 60_000);
    const [one, two] = await Promise.all([first, second].map((p: Page) => report(p)));
    if (one === undefined || two === undefined) throw new Error('two reports');
    console.log(`over plain HTTP at ${address}: second viewer ${(two.stats.peerShare * 100).toFixed(1)} % from peers`);
    console.log(JSON.stringify({ reasons: two.stats.httpReasons, peers: two.stats.peers, pcs: [one.peerConnections, two.peerConnections] }));
    for (const viewer of [one, two]) {
      expect(viewer.hlsErrors.filter((e) => e.includes('fatal'))).toEqual([]);
      expect(viewer.stats.verificationFailures).toBe(0);
      expect(viewer.stalls).toBe(0);
    }
    expect(two.stats.peerShare, 'the second viewer gets most of its bytes from the first').toBeGreaterThanOrEqual(0.5);
    for (const page of [first, second]) await page.context().close();
  });

  it('b. the call says that camera and microphone need HTTPS', async () => {
    const { id } = await createRoom(server.url, movieId);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/rooms/${id}`);
    await page.getByLabel('Your name').fill('Ana');
    await page.getByRole('button', { name: 'Join', exact: true }).click();
    const notice = page.locator('.call-notice');
    await expect.poll(() => notice.textContent(), { timeout: 15_000 }).toContain('need this page over HTTPS');
    await page.getByRole('button', { name: 'Join the call' }).click();
    await expect.poll(() => page.getByRole('button', { name: 'Leave the call' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Camera on' }).count() + (await page.getByRole('button', { name: 'Camera off' }).count())).toBe(0);
    expect(await page.getByRole('button', { name: 'Share screen' }).isHidden()).toBe(true);
    await page.context().close();
  });
});
