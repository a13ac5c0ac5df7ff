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
// Screenshots of the library and the edit dialog at desktop and phone width
// are saved under test-artifacts/screenshots/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, screenshotDir, startServer, type TestServer } from './harness';
import { createRoom, joinAs } from './room-pages';

const TOKEN = 'e2e-admin-token-0123456789';

let server: TestServer;
let browser: Browser;
let first: string;
let second: string;

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
});
