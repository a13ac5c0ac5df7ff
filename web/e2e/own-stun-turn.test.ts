// The server's own STUN and TURN as Chromium meets them, with nothing set up
// beyond `turn.relay = true`: the movie's details name this server (no third
// party) with the page's host in place of `{host}`, Chromium's STUN binding
// requests reach it, and its TURN grants Chromium relay allocations with the
// credentials made for this viewer and none with a forged one. Segment
// connections stay off the relay unless `turn.relay_segments` allows it. A
// room's welcome gives each member TURN credentials of its own, which the
// call takes.
//
// Nothing here touches the database's kind, so it runs in the SQLite pass only.
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rtcIceServers } from '../src/api/ice-servers';
import type { MovieDetail } from '../src/api/types';
import { databaseMode, ingestClip, launchBrowser, startServer, type TestServer } from './harness';
import { gatherCandidates } from './ice-gathering';
import { joinAs } from './room-pages';
import { metric } from './viewers';

let server: TestServer;
let browser: Browser;
let movie: MovieDetail;

describe.skipIf(databaseMode !== 'sqlite')("the server's own STUN and TURN", () => {
  beforeAll(async () => {
    server = await startServer({ CINEMESH_DEMO_ENABLED: 'false', CINEMESH_TURN_RELAY: 'true' });
    const movieId = await ingestClip(server, 'Relay clip', 4);
    movie = (await (await fetch(`${server.url}/api/movies/${movieId}`)).json()) as MovieDetail;
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('hands out this server only, under the name the page used', () => {
    const urls = movie.tracker.ice_servers.flatMap((entry) => entry.urls);
    expect(urls.some((url) => /^stun:\{host\}:\d+$/.test(url)), JSON.stringify(urls)).toBe(true);
    expect(urls.some((url) => /^turn:\{host\}:\d+\?transport=udp$/.test(url)), JSON.stringify(urls)).toBe(true);
    expect(urls.some((url) => /^turn:\{host\}:\d+\?transport=tcp$/.test(url)), JSON.stringify(urls)).toBe(true);
    expect(urls.every((url) => url.includes('{host}')), 'no third party').toBe(true);
    const relay = movie.tracker.ice_servers.find((entry) => entry.urls.some((url) => url.startsWith('turn:')));
    expect(relay?.username, 'TURN REST form: EXPIRY:ID').toMatch(/^\d{10}:[a-z0-9]+$/);
    expect(rtcIceServers(movie.tracker.ice_servers, '127.0.0.1')[0]?.urls[0]).toMatch(/^stun:127\.0\.0\.1:\d+$/);
  });

  it("answers Chromium's STUN and grants relays to the viewer's credentials only", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.url);
    const host = new URL(server.url).hostname;
    const servers = rtcIceServers(movie.tracker.ice_servers, host);
    const stun = servers.filter((entry) => [entry.urls].flat().every((url) => url.startsWith('stun:')));
    const turn = servers.find((entry) => [entry.urls].flat().some((url) => url.startsWith('turn:')));
    if (turn === undefined) throw new Error('a TURN entry');

    const bindingsBefore = await metric(server.url, 'cinemesh_turn_requests_total{kind="binding"}');
    await gatherCandidates(page, stun, 'all');
    const bindings = await metric(server.url, 'cinemesh_turn_requests_total{kind="binding"}');
    expect(bindings - (Number.isNaN(bindingsBefore) ? 0 : bindingsBefore), "Chromium's binding requests").toBeGreaterThan(0);

    expect((await gatherCandidates(page, [turn], 'relay')).relay ?? 0, 'relay candidates with the credentials handed out').toBeGreaterThan(0);
    // A network that lets no UDP out: the relay is reached over TCP.
    const overTcp = { ...turn, urls: [turn.urls].flat().filter((url) => url.endsWith('?transport=tcp')) };
    expect((await gatherCandidates(page, [overTcp], 'relay')).relay ?? 0, 'relay candidates over TCP').toBeGreaterThan(0);
    expect(await metric(server.url, 'cinemesh_turn_requests_total{kind="allocate"}')).toBeGreaterThan(0);
    expect((await gatherCandidates(page, [{ ...turn, credential: 'forged' }], 'relay')).relay ?? 0, 'with a forged credential').toBe(0);
    await page.context().close();
  });

  it("keeps segment connections off the relay unless turn.relay_segments allows it", async () => {
    expect(movie.tracker.relay_segments).toBe(false);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/movies/${movie.id}`);
    await page.waitForFunction(() => window.cinemeshPlayer !== undefined);
    const urls = await page.evaluate(() => window.cinemeshPlayer?.engine.config.iceServers.flatMap((entry) => [entry.urls].flat()) ?? []);
    expect(urls.some((url) => url.startsWith('stun:')), JSON.stringify(urls)).toBe(true);
    expect(urls.some((url) => url.startsWith('turn:')), JSON.stringify(urls)).toBe(false);
    await page.context().close();

    const relaying = await startServer({ CINEMESH_DEMO_ENABLED: 'false', CINEMESH_TURN_RELAY: 'true', CINEMESH_TURN_RELAY_SEGMENTS: 'true' });
    try {
      const movieId = await ingestClip(relaying, 'Relayed segments clip', 4);
      const other = await browser.newPage();
      await other.goto(`${relaying.url}/movies/${movieId}`);
      await other.waitForFunction(() => window.cinemeshPlayer !== undefined);
      const allowed = await other.evaluate(() => window.cinemeshPlayer?.engine.config.iceServers.flatMap((entry) => [entry.urls].flat()) ?? []);
      expect(allowed.some((url) => url.startsWith('turn:')), JSON.stringify(allowed)).toBe(true);
      await other.close();
    } finally {
      await relaying.stop();
    }
  });

  it("gives each room member TURN credentials of its own in the room's welcome, for the call", async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/movies/${movie.id}`);
    await page.getByRole('button', { name: 'Start watch party' }).click();
    await page.waitForURL(/\/rooms\//);
    await joinAs(page, 'Ana');
    const handle = await page.waitForFunction(() => {
      const member = window.cinemeshRoom?.room.member;
      const entry = window.cinemeshRoom?.mesh.iceServers.find((server) => [server.urls].flat().some((url) => url.startsWith('turn:')));
      return member !== undefined && entry?.username?.endsWith(`:${member}`) === true ? { ...entry, urls: [entry.urls].flat() } : undefined;
    });
    const turn = (await handle.jsonValue()) as RTCIceServer & { urls: string[] };
    expect(turn.urls.every((url) => url.includes(new URL(server.url).hostname)), `the page's host name in the server's own URLs: ${turn.urls.join(' ')}`).toBe(true);
    expect((await gatherCandidates(page, [turn], 'relay')).relay ?? 0, "the welcome's credentials allocate relays").toBeGreaterThan(0);
    await page.context().close();
  });
});
