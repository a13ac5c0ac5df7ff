// The admin pages in a real Chromium. Properties proved:
// - /admin without a session shows only the sign-in, and the admin API
//   refuses the page's requests; a wrong token is told apart;
// - signing in with the token opens the library; the session is an HttpOnly
//   cookie (scripts cannot read it, nothing is in localStorage) that
//   survives a reload;
// - the table sorts by a column header;
// - an edited title reaches the public catalog; a poster taken from a frame
//   gets a new URL;
// - deleting a movie (after a confirmation) removes it from the library and
//   the catalog, and a member watching it in a room is told the party ended.
// - a 200 MB file uploaded through a connection cut at about half way resumes
//   where it stopped (tus), and its ingest job's progress reaches "Ready".
// Screenshots of the library, the edit dialog and an upload are saved under
// test-artifacts/screenshots/.
import { closeSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startCuttingProxy } from './cutting-proxy';
import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, makeClip, screenshotDir, startServer, type TestServer } from './harness';
import { createRoom, joinAs } from './room-pages';

const TOKEN = 'e2e-admin-token-0123456789';

let server: TestServer;
let browser: Browser;
let first: string;
let second: string;

const UPLOAD_BYTES = 200 * 1024 * 1024;

/**
 * A real movie padded to `bytes` with an MP4 `free` box at its end: a
 * 200 MB upload that ingests in seconds.
 */
function paddedMovie(path: string, bytes: number): void {
  makeClip(path, 8, '640x360');
  const padding = bytes - statSync(path).size;
  const fd = openSync(path, 'a');
  const header = Buffer.alloc(8);
  header.writeUInt32BE(padding, 0);
  header.write('free', 4, 'ascii');
  writeSync(fd, header);
  const zeros = Buffer.alloc(1024 * 1024);
  for (let left = padding - 8; left > 0; left -= zeros.length) writeSync(fd, zeros, 0, Math.min(left, zeros.length));
  closeSync(fd);
}

async function signIn(page: Page): Promise<void> {
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('table.library').waitFor();
}

function rowTitles(page: Page): Promise<string[]> {
  return page.locator('table.library tbody th.title').allTextContents();
}

describe.skipIf(databaseMode !== 'sqlite')('the admin pages', () => {
  beforeAll(async () => {
    server = await startServer({ ...LOOPBACK_SERVER, CINEMESH_ADMIN_TOKEN: TOKEN });
    first = await ingestClip(server, 'Alpha feature', 12);
    second = await ingestClip(server, 'Zulu feature', 12);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('signs in, sorts, edits, takes a poster frame and deletes a movie whose room is told', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    await page.goto(`${server.url}/admin`);
    await expect.poll(() => page.getByRole('heading', { name: 'Admin sign-in' }).isVisible()).toBe(true);
    expect(await page.locator('table.library').count()).toBe(0);
    const refused = await page.evaluate(async () => (await fetch('/api/admin/library')).status);
    expect(refused).toBe(401);

    await page.getByLabel('Admin token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.locator('.form-status').textContent()).toContain('Wrong token');

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.library').waitFor();
    expect(await rowTitles(page)).toEqual(['Zulu feature', 'Alpha feature']);
    const cookie = (await context.cookies()).find((c) => c.name === 'cinemesh_admin');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/admin' });
    expect(await page.evaluate(() => [document.cookie, JSON.stringify(localStorage)])).toEqual(['', '{}']);
    await page.reload();
    await page.locator('table.library').waitFor();

    await page.locator('button.sort[data-sort="title"]').click();
    await expect.poll(() => rowTitles(page)).toEqual(['Alpha feature', 'Zulu feature']);
    expect(await page.locator('th[aria-sort="ascending"]').textContent()).toContain('Title');

    // Edit the title: the public catalog shows it.
    await page.getByRole('button', { name: 'Edit Alpha feature' }).click();
    const dialog = page.locator('dialog.admin-dialog');
    await dialog.getByLabel('Title').fill('Renamed feature');
    await dialog.getByLabel('Year').fill('1999');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect.poll(() => rowTitles(page)).toContain('Renamed feature');
    const catalog = (await (await fetch(`${server.url}/api/movies/${first}`)).json()) as { title: string; year: number };
    expect(catalog).toMatchObject({ title: 'Renamed feature', year: 1999 });

    // A poster from a frame at 0:05: a new URL, in the dialog and the table.
    await page.getByRole('button', { name: 'Edit Renamed feature' }).click();
    await dialog.getByLabel('Time of the frame (m:ss)').fill('0:05');
    await dialog.getByRole('button', { name: 'Use this frame' }).click();
    await expect.poll(() => dialog.locator('img.poster-preview').getAttribute('src')).toBe(`/media/${first}/poster.jpg?v=1`);
    mkdirSync(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'admin-edit-desktop.png') });
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect.poll(() => page.locator(`tr[data-movie-id="${first}"] img.thumb`).getAttribute('src')).toBe(`/media/${first}/poster.jpg?v=1`);
    await page.screenshot({ path: join(screenshotDir, 'admin-library-desktop.png') });

    // Ben watches the other movie in a room; deleting it ends his party.
    const room = await createRoom(server.url, second);
    const ben = await (await browser.newContext()).newPage();
    await ben.goto(`${server.url}${room.invite_path}`);
    await joinAs(ben, 'Ben');
    await page.getByRole('button', { name: 'Delete Zulu feature' }).click();
    const confirm = page.getByRole('alertdialog');
    expect(await confirm.textContent()).toContain('Rooms playing it end');
    await confirm.getByRole('button', { name: 'Keep it' }).click();
    expect(await rowTitles(page)).toContain('Zulu feature');
    await page.getByRole('button', { name: 'Delete Zulu feature' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete for good' }).click();
    await expect.poll(() => rowTitles(page)).toEqual(['Renamed feature']);
    expect((await fetch(`${server.url}/api/movies/${second}`)).status).toBe(404);
    await expect.poll(() => ben.textContent('body'), { timeout: 10_000 }).toContain('This party has ended');

    // Phone width: the table scrolls inside its box, the page does not.
    await page.setViewportSize({ width: 390, height: 844 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: join(screenshotDir, 'admin-library-phone.png') });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Admin sign-in' }).waitFor();
    expect(await page.evaluate(async () => (await fetch('/api/admin/library')).status)).toBe(401);
  }, 120_000);

  it('uploads 200 MB through a connection cut half way, resumes, and follows the job to ready', async () => {
    const movie = join(server.dataDir, 'big-upload.mp4');
    paddedMovie(movie, UPLOAD_BYTES);
    const port = Number(new URL(server.url).port);
    const proxy = await startCuttingProxy(port, UPLOAD_BYTES / 2);
    try {
      const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${proxy.url}/admin`);
      await signIn(page);
      await page.getByLabel('Movie file').setInputFiles(movie);
      await page.getByLabel('Title').first().fill('Big upload');
      const uploadStarted = Date.now();
      await page.getByRole('button', { name: 'Upload' }).click();

      const upload = page.locator('li.upload[data-file="big-upload.mp4"]');
      await expect.poll(() => proxy.cutAt(), { timeout: 60_000 }).toBeGreaterThan(0);
      await expect.poll(() => upload.locator('.upload-status').textContent(), { timeout: 60_000 }).toContain('Uploaded');
      const cut = (proxy.cutAt() ?? 0) / UPLOAD_BYTES;
      expect(cut).toBeGreaterThan(0.45);
      expect(cut).toBeLessThan(0.6);

      const job = page.locator('li.job', { hasText: 'Big upload' });
      await expect.poll(() => job.getAttribute('data-state'), { timeout: 120_000 }).toBe('done');
      expect(await job.locator('.job-status').textContent()).toBe('Ready');
      await expect.poll(() => rowTitles(page)).toContain('Big upload');
      mkdirSync(screenshotDir, { recursive: true });
      await page.screenshot({ path: join(screenshotDir, 'admin-upload-desktop.png') });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(screenshotDir, 'admin-upload-phone.png') });

      // The server kept what reached it before the cut: the upload went on
      // from there, not from the start (what the proxy still had buffered
      // when it cut was lost, and sent again).
      const offsets = proxy.patchOffsets();
      const share = (bytes: number): string => `${((bytes / UPLOAD_BYTES) * 100).toFixed(1)} %`;
      console.log(`cut at ${share(proxy.cutAt() ?? 0)} sent; PATCHes from ${offsets.map(share).join(', ')}; upload took ${Date.now() - uploadStarted} ms`);
      expect(offsets[0]).toBe(0);
      expect(offsets.length).toBeGreaterThanOrEqual(2);
      expect(Math.max(...offsets.slice(1)) / UPLOAD_BYTES).toBeGreaterThan(0.2);
      const movies = (await (await fetch(`${server.url}/api/movies?q=big`)).json()) as { total: number };
      expect(movies.total).toBe(1);
    } finally {
      await proxy.stop();
    }
  }, 240_000);
});
