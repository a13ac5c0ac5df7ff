// Accessibility, in Chromium.
// a. axe-core finds no serious or critical violation on any page: the
//    catalog, a movie, a room's name form, a room joined (with a chat
//    message, the call joined), a room that does not exist, a page that
//    does not exist, the admin
//    sign-in, the library and its edit dialog. Each violation found is
//    printed with the elements it names.
// b. The whole party by keyboard alone, from the catalog: Tab to a movie,
//    Enter; Tab to "Start watch party", Enter; type a name, Enter; Tab to the
//    chat, type, Enter; Tab to Play, Space; the arrow keys seek 10 s; Tab to
//    "Join the call", Enter. Every element focused on the way shows that it
//    has the focus (an outline or a shadow).
// Nothing here depends on the database's kind: the SQLite pass only.
import { createRequire } from 'node:module';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from './harness';

const TOKEN = 'e2e-admin-token-accessibility';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let server: TestServer;
let browser: Browser;
let movieId: string;

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** The page's serious and critical axe violations, one line each with the elements they name. */
async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

describe.skipIf(databaseMode !== 'sqlite')('accessibility', () => {
  beforeAll(async () => {
    server = await startServer({ ...LOOPBACK_SERVER, CINEMESH_ADMIN_TOKEN: TOKEN });
    movieId = await ingestClip(server, 'Accessible feature', 60);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a. axe finds nothing serious or critical on any page', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.grantPermissions(['camera', 'microphone']);
    const page = await context.newPage();
    const found: Record<string, string[]> = {};
    const check = async (name: string): Promise<void> => {
      found[name] = await seriousViolations(page);
    };
    try {
      await page.goto(`${server.url}/`);
      await page.locator('a[href^="/movies/"]').first().waitFor();
      await check('catalog');
      await page.goto(`${server.url}/movies/${movieId}`);
      await page.waitForFunction(() => window.cinemeshPlayer !== undefined);
      await check('movie');
      await page.getByRole('button', { name: 'Start watch party' }).click();
      await page.getByLabel('Your name').waitFor();
      await check('room name form');
      await page.getByLabel('Your name').fill('Ada');
      await page.getByRole('button', { name: 'Join', exact: true }).click();
      await page.waitForFunction(() => window.cinemeshRoom?.player !== undefined);
      await page.getByLabel('Message').fill('hello');
      await page.getByLabel('Message').press('Enter');
      await page.locator('.chat li').first().waitFor();
      await page.getByRole('button', { name: 'Join the call' }).click();
      await page.getByRole('button', { name: 'Leave the call' }).waitFor();
      await check('room');
      await page.goto(`${server.url}/rooms/nosuchroom0`);
      await page.getByRole('heading', { name: 'Room not found' }).waitFor();
      await check('room not found');
      await page.goto(`${server.url}/no/such/page`);
      await page.getByRole('heading', { name: 'Page not found' }).waitFor();
      await check('page not found');
      await page.goto(`${server.url}/admin`);
      await page.getByLabel('Admin token').waitFor();
      await check('admin sign-in');
      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('table.library').waitFor();
      await check('admin library');
      await page.getByRole('button', { name: 'Edit Accessible feature' }).click();
      await page.locator('dialog.admin-dialog').waitFor();
      await check('admin edit dialog');
    } finally {
      await context.close();
    }
    for (const [name, violations] of Object.entries(found)) console.log(`axe, ${name}: ${violations.length === 0 ? 'none serious or critical' : violations.join('; ')}`);
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((name) => [name, []])));
  });

  it('b. a whole party by keyboard alone', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    await context.grantPermissions(['camera', 'microphone']);
    const page = await context.newPage();
    /** Focused elements that showed no sign of having the focus. */
    const unmarked = new Set<string>();
    /** Presses Tab until the focused element matches `selector` (and `text`, when given); fails after 80 presses. */
    const tabTo = async (selector: string, text?: string): Promise<void> => {
      for (let press = 0; press < 80; press += 1) {
        await page.keyboard.press('Tab');
        const focus = await page.evaluate(
          ([wanted, wantedText]) => {
            const element = document.activeElement as HTMLElement | null;
            if (element === null || element === document.body) return { matches: false, marked: true, name: 'body' };
            const style = getComputedStyle(element);
            // A video's own controls take the focus inside it and draw their ring themselves.
            const nativeControls = element instanceof HTMLVideoElement && element.controls;
            const marked = nativeControls || (style.outlineStyle !== 'none' && style.outlineWidth !== '0px') || style.boxShadow !== 'none';
            const name = `${element.tagName.toLowerCase()} "${(element.getAttribute('aria-label') ?? element.textContent ?? '').trim().slice(0, 30)}"`;
            const matches = element.matches(wanted ?? '') && (wantedText === undefined || element.textContent?.trim() === wantedText);
            return { matches, marked, name };
          },
          [selector, text] as const,
        );
        if (!focus.marked) unmarked.add(focus.name);
        if (focus.matches) return;
      }
      throw new Error(`Tab never reached ${selector}${text === undefined ? '' : ` "${text}"`}`);
    };
    try {
      await page.goto(`${server.url}/`);
      await page.locator('a[href^="/movies/"]').first().waitFor();
      await tabTo(`a[href="/movies/${movieId}"]`);
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.cinemeshPlayer !== undefined);

      await tabTo('button', 'Start watch party');
      await page.keyboard.press('Enter');
      await page.waitForURL(/\/rooms\//);
      await tabTo('input');
      await page.keyboard.type('Keyboard Kim');
      await page.keyboard.press('Enter');
      await page.waitForFunction(() => window.cinemeshRoom?.player !== undefined && (window.cinemeshRoom.room.clock.sampleCount ?? 0) >= 3);

      await tabTo('input[aria-label="Message"]');
      await page.keyboard.type('typed without a mouse');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('.chat li.own').allTextContents()).toEqual([expect.stringContaining('typed without a mouse')]);

      await tabTo('[data-testid="play"]');
      await page.keyboard.press('Space');
      await expect.poll(() => page.evaluate(() => window.cinemeshRoom?.room.playback?.playing)).toBe(true);
      await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) >= 2, undefined, { timeout: 20_000 });
      // The arrow keys seek 10 s, from anywhere but a field or a control of their own (Play is a button).
      const before = await page.evaluate(() => window.cinemeshRoom?.room.roomPosition() ?? 0);
      await page.keyboard.press('ArrowRight');
      await expect.poll(() => page.evaluate(() => window.cinemeshRoom?.room.roomPosition() ?? 0)).toBeGreaterThan(before + 9_000);
      const ahead = await page.evaluate(() => window.cinemeshRoom?.room.roomPosition() ?? 0);
      await page.keyboard.press('ArrowLeft');
      await expect.poll(() => page.evaluate(() => window.cinemeshRoom?.room.roomPosition() ?? 0)).toBeLessThan(ahead - 8_000);

      await tabTo('button', 'Join the call');
      await page.keyboard.press('Enter');
      await expect.poll(() => page.evaluate(() => [...document.querySelectorAll('.call button')].some((b) => b.textContent === 'Leave the call'))).toBe(true);
    } finally {
      await context.close();
    }
    expect([...unmarked], 'every focused element shows the focus').toEqual([]);
  });
});
