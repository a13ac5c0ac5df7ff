// Watch-party benchmark:
// 1. sync error: VIEWERS real Chromium viewers in one room for SYNC_SECS while
//    the host plays, pauses and seeks on a schedule; every 100 ms each viewer's
//    |video − room| (on its own estimate of the server clock) is sampled while
//    the room plays, and the time each command took to bring everyone within
//    100 ms is measured;
// 2. rooms at scale (room-scale.ts), with simulated members (WebSockets
//    from Node): chat fan-out to FANOUT_MEMBERS in one room, playback
//    commands to SYNC_MEMBERS in another, and the server's memory per member
//    online and per idle room (IDLE_ROOMS made); run first, before any browser;
// 3. offload: OFFLOAD_VIEWERS real Chromium viewers watch OFFLOAD_SECS of a
//    movie together, first with the room's fetch plan (one member fetches
//    each segment over HTTP, the others take it from that member), then the
//    same with every member opted out of the plan; bytes from peers and from
//    the segment server are compared side by side.
// Run by ../bench/rooms.sh.
import { setTimeout as sleep } from 'node:timers/promises';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';

import { ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from '../e2e/harness';
import { createRoom, percentile } from '../e2e/room-pages';
import { roomsAtScale } from './room-scale';

const VIEWERS = Number(process.env.VIEWERS ?? 4);
const SYNC_SECS = Number(process.env.SYNC_SECS ?? 120);
const FANOUT_MEMBERS = Number(process.env.FANOUT_MEMBERS ?? 500);
const FANOUT_MESSAGES = 50;
const SYNC_MEMBERS = Number(process.env.SYNC_MEMBERS ?? 1000);
const SYNC_COMMANDS = 30;
const IDLE_ROOMS = Number(process.env.IDLE_ROOMS ?? 1000);
const OFFLOAD_VIEWERS = Number(process.env.OFFLOAD_VIEWERS ?? 6);
const OFFLOAD_SECS = Number(process.env.OFFLOAD_SECS ?? 60);

let server: TestServer;
let browser: Browser;
let movieId: string;

beforeAll(async () => {
  // Every simulated member connects from 127.0.0.1: the per-address, per-room and room-creation caps are lifted for them.
  const members = Math.max(FANOUT_MEMBERS, SYNC_MEMBERS);
  server = await startServer({
    ...LOOPBACK_SERVER,
    CINEMESH_SERVER_MAX_CONNECTIONS_PER_ADDRESS: String(members + 50),
    CINEMESH_ROOMS_MAX_MEMBERS: String(members + 10),
    CINEMESH_ROOMS_CREATIONS_PER_HOUR: String(IDLE_ROOMS + 100),
  });
  movieId = await ingestClip(server, 'Room bench', 240);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

async function newRoom(): Promise<string> {
  return (await createRoom(server.url, movieId)).id;
}

async function joinPage(room: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/rooms/${room}`);
  await page.getByLabel('Your name').fill(name);
  await page.getByRole('button', { name: 'Join' }).click();
  await page.waitForFunction(() => window.cinemeshRoom?.player !== undefined && window.cinemeshRoom.room.clock.sampleCount >= 3);
  return page;
}

/** Each page's |video − room| in ms (paused or playing), or undefined before a scheduled start. */
function errors(pages: Page[]): Promise<(number | undefined)[]> {
  return Promise.all(
    pages.map((page) =>
      page.evaluate(() => {
        const room = window.cinemeshRoom?.room;
        const video = document.querySelector('video');
        const state = room?.playback;
        if (room === undefined || video === null || state === undefined) return undefined;
        if (state.playing && room.serverNow() < state.anchor_ms) return undefined;
        return Math.abs(video.currentTime * 1000 - (room.roomPosition() ?? Number.NaN));
      }),
    ),
  );
}

it('sync error, rooms at scale and offload', async () => {
  // 2 first: the server's memory is measured before any browser has used it (only the clip's ingest has).
  const atScale = await roomsAtScale({
    serverUrl: server.url,
    serverPid: server.pid,
    newRoom,
    chatMembers: FANOUT_MEMBERS,
    chatMessages: FANOUT_MESSAGES,
    syncMembers: SYNC_MEMBERS,
    syncCommands: SYNC_COMMANDS,
    idleRooms: IDLE_ROOMS,
  });

  // 1. Sync error under a schedule of commands.
  const room = await newRoom();
  const pages: Page[] = [];
  for (let i = 0; i < VIEWERS; i++) pages.push(await joinPage(room, `viewer${i + 1}`));
  const host = pages[0] as Page;
  const control = (command: { action: 'play' | 'pause' | 'seek'; position_ms: number }): Promise<void> =>
    host.evaluate((c) => window.cinemeshRoom?.room.control(c), command);
  const position = (): Promise<number> => host.evaluate(() => window.cinemeshRoom?.room.roomPosition() ?? 0);

  const steady: number[] = [];
  const toSync: number[] = [];
  /** Per command: what it was, how long until everyone was within 100 ms, the worst error 2 s after. */
  const perCommand: string[] = [];
  let lastCommand = 'play';
  let worstAfter = 0;
  let commands = 0;
  const started = Date.now();
  let step = 0;
  await control({ action: 'play', position_ms: 0 });
  let commandAt = Date.now();
  let synced = false;
  let nextCommandAt = started + 15_000;
  while (Date.now() - started < SYNC_SECS * 1000) {
    if (Date.now() >= nextCommandAt) {
      // Pause, play, seek ahead, seek back, in turn.
      const now = await position();
      const commandsInTurn = [
        { action: 'pause' as const, position_ms: now },
        { action: 'play' as const, position_ms: now },
        { action: 'seek' as const, position_ms: Math.min(200_000, now + 40_000) },
        { action: 'seek' as const, position_ms: Math.max(0, now - 20_000) },
      ];
      const command = commandsInTurn[step % commandsInTurn.length] ?? { action: 'play' as const, position_ms: now };
      if (!synced) perCommand.push(`${lastCommand}: never (worst ${worstAfter.toFixed(0)} ms)`);
      await control(command);
      lastCommand = command.action === 'seek' ? `seek ${command.position_ms > now ? '+' : '-'}` : command.action;
      worstAfter = 0;
      step += 1;
      commands += 1;
      commandAt = Date.now();
      synced = false;
      nextCommandAt = Date.now() + (step % 4 === 1 ? 3_000 : 15_000);
    }
    const sample = await errors(pages);
    const playing = sample.filter((e): e is number => e !== undefined);
    if (playing.length === pages.length) {
      if (!synced && playing.every((e) => e <= 100)) {
        toSync.push(Date.now() - commandAt);
        perCommand.push(`${lastCommand}: ${Date.now() - commandAt} ms`);
        synced = true;
      }
      // Steady state: from 2 s after a command.
      if (Date.now() - commandAt >= 2_000) {
        steady.push(...playing);
        worstAfter = Math.max(worstAfter, ...playing);
      }
    }
    await sleep(100);
  }
  for (const page of pages) await page.context().close();

  // 3. Offload with and without the room's fetch plan.
  const planned = await offload(true);
  const unplanned = await offload(false);

  const summary = [
    `sync: ${VIEWERS} browsers, ${SYNC_SECS} s, ${commands + 1} commands (play, pause, seeks);`,
    `steady-state |error| p50 ${percentile(steady, 50).toFixed(0)} ms, p95 ${percentile(steady, 95).toFixed(0)} ms, max ${Math.max(...steady).toFixed(0)} ms over ${steady.length} samples;`,
    `everyone within 100 ms after a command: p50 ${percentile(toSync, 50).toFixed(0)} ms, max ${Math.max(...toSync).toFixed(0)} ms (${toSync.length}/${commands + 1} commands)`,
    `\nper command (time until everyone was within 100 ms): ${perCommand.join('; ')}`,
    ...atScale.map((line) => `\n${line}`),
    `\noffload, ${OFFLOAD_VIEWERS} viewers watching ${OFFLOAD_SECS} s together (bound ${((100 * (OFFLOAD_VIEWERS - 1)) / OFFLOAD_VIEWERS).toFixed(0)} % from peers):`,
    `\n  with the fetch plan: ${planned}`,
    `\n  without it:         ${unplanned}`,
  ].join(' ');
  console.log(`\nSUMMARY\n${summary}`);
});

/** Bytes the segment server has served for segments of the bench movie, from /metrics. */
async function originSegmentBytes(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('cinemesh_segment_bytes_served_total{') && line.includes(`movie="${movieId}"`) && line.includes('kind="segment"')) {
      total += Number(line.split(' ').pop());
    }
  }
  return total;
}

interface Loaded {
  http: number;
  peer: number;
  assigned: number;
  position: number;
}

function loaded(page: Page): Promise<Loaded> {
  return page.evaluate(() => {
    const s = window.cinemeshRoom?.player?.engine.stats();
    const position = document.querySelector('video')?.currentTime ?? 0;
    return { http: s?.httpBytes ?? 0, peer: s?.peerBytes ?? 0, assigned: s?.httpReasons.assigned ?? 0, position };
  });
}

/**
 * OFFLOAD_VIEWERS viewers in a new room, playing from the start for
 * OFFLOAD_SECS; with `plan` off every member opts out of the room's fetch
 * plan (it still uploads to peers). The players load ahead while the room
 * waits for its first play; what is counted is what every side moved from
 * that play on. Returns a line of figures.
 */
async function offload(plan: boolean): Promise<string> {
  const room = await newRoom();
  const pages: Page[] = [];
  for (let i = 0; i < OFFLOAD_VIEWERS; i++) pages.push(await joinPage(room, `watcher${i + 1}`));
  if (!plan) for (const page of pages) await page.evaluate(() => window.cinemeshRoom?.room.share(false, undefined));
  await sleep(5_000);
  const originBefore = await originSegmentBytes();
  const before = await Promise.all(pages.map(loaded));
  await (pages[0] as Page).evaluate(() => window.cinemeshRoom?.room.control({ action: 'play', position_ms: 0 }));
  await sleep(OFFLOAD_SECS * 1000);
  const after = await Promise.all(pages.map(loaded));
  const origin = (await originSegmentBytes()) - originBefore;
  for (const page of pages) await page.context().close();
  const stats = after.map((a, i) => {
    const b = before[i] ?? a;
    return { http: a.http - b.http, peer: a.peer - b.peer, assigned: a.assigned - b.assigned, position: a.position };
  });
  const http = stats.reduce((sum, s) => sum + s.http, 0);
  const peer = stats.reduce((sum, s) => sum + s.peer, 0);
  const oneCopy = Math.max(...stats.map((s) => s.http + s.peer));
  const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
  return [
    `${((100 * peer) / Math.max(1, http + peer)).toFixed(1)} % of bytes from peers;`,
    `origin served ${mb(origin)} (${(origin / Math.max(1, oneCopy)).toFixed(2)} viewers' worth; the viewers counted ${mb(http)} over HTTP),`,
    `${stats.reduce((sum, s) => sum + s.assigned, 0)} segments fetched for the room;`,
    `positions ${stats.map((s) => s.position.toFixed(0)).join('/')} s`,
  ].join(' ');
}
