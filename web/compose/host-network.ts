// The compose test's browser runs on the host, where every container start
// adds a network interface (the container's veth on the compose bridge) whose
// addresses settle a second or two later (IPv6 duplicate address detection).
// Chromium treats each address change as a new network and fails whatever it
// has in flight with net::ERR_NETWORK_CHANGED: a page load, or one of the
// page's scripts, which leaves a page without its player. Neither is the
// product's doing, so the test waits for the host's network to settle after it
// starts a container, and loads a page again when that still happens.
import { execSync } from 'node:child_process';

import type { Page } from 'playwright-core';

/** The host's links and addresses, flags included (a `tentative` address that turns permanent is a change). */
function hostInterfaces(): string {
  return execSync('ip -o link show; ip -o address show', { encoding: 'utf8' }).replace(/\\\s+valid_lft.*$/gm, '');
}

/** Waits until the host's links and addresses stayed the same for `quietMs` (at most `timeoutMs`); returns how long it took. */
export async function hostNetworkSettled(quietMs = 3_000, timeoutMs = 30_000): Promise<number> {
  const start = Date.now();
  let last = hostInterfaces();
  let lastChange = start;
  while (Date.now() - lastChange < quietMs) {
    if (Date.now() - start > timeoutMs) throw new Error(`the host's network did not settle within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = hostInterfaces();
    if (now !== last) [last, lastChange] = [now, Date.now()];
  }
  return Date.now() - start;
}

/** `page.goto(url)`, again (up to 3 times) when the host's network changed under it. */
export async function gotoThroughNetworkChanges(page: Page, url: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await page.goto(url);
      return;
    } catch (error) {
      if (attempt >= 3 || !String(error).includes('ERR_NETWORK_CHANGED')) throw error;
      await hostNetworkSettled();
    }
  }
}
