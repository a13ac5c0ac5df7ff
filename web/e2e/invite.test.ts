// Presence and invitations in real browsers: a host in a watch party sees a
// person who is browsing the catalog in the "Online" list, invites them, the
// invitee gets a prompt, joins, lands in the room, and the host sees that the
// invitation was accepted and that the guest is now in this room.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from './harness';

let server: TestServer;
let browser: Browser;
let movieId: string;

beforeAll(async () => {
  server = await startServer(LOOPBACK_SERVER);
  movieId = await ingestClip(server, 'Invitation clip', 20);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('presence and invitations', () => {
  it('a host invites someone browsing, who accepts and lands in the room', async () => {
    const host = await (await browser.newContext()).newPage();
    await host.goto(`${server.url}/movies/${movieId}`);
    await host.getByRole('button', { name: 'Start watch party' }).click();
    await host.waitForURL(/\/rooms\//);
    const roomPath = new URL(host.url()).pathname;
    await host.getByLabel('Your name').fill('Ana');
    await host.getByRole('button', { name: 'Join' }).click();

    const guestContext = await browser.newContext();
    await guestContext.addInitScript(() => localStorage.setItem('cinemesh.name', 'Ben'));
    const guest = await guestContext.newPage();
    await guest.goto(server.url);

    await host.getByText('Online').click();
    const ben = host.locator('.presence li', { hasText: 'Ben' });
    await expect.poll(() => ben.textContent(), { timeout: 10_000 }).toContain('browsing');
    await ben.getByRole('button', { name: 'Invite' }).click();

    const prompt = guest.getByRole('alertdialog', { name: 'Invitation from Ana' });
    await prompt.waitFor({ timeout: 10_000 });
    await prompt.getByRole('button', { name: 'Join' }).click();
    await guest.waitForURL((url) => url.pathname === roomPath);
    expect(await guest.getByLabel('Your name').inputValue()).toBe('Ben');
    await guest.getByRole('button', { name: 'Join' }).click();

    await host.getByText('Ben is coming').waitFor({ timeout: 10_000 });
    await expect.poll(() => ben.textContent(), { timeout: 10_000 }).toContain('in this room');
    await expect.poll(() => host.locator('.members li', { hasText: 'Ben' }).count(), { timeout: 10_000 }).toBe(1);
  });
});
