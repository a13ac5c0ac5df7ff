// The party in every browser this machine has: one room with a Chromium host
// (MediaSource and P2P) and, as guests, Chromium, Firefox ESR (both with
// P2P), WebKitGTK (ManagedMediaSource, no WebRTC: from the server only) and
// Chromium playing HLS itself (no MediaSource: the browser's own HLS). The
// host plays, then pauses, plays, seeks 40 s ahead and 20 s back in turn
// for SYNC_SECS. Per browser: the playback path, the time to first frame
// from the host's play, |video − room| p50/p95/max while the room plays (from
// 2 s after each command), the slowest time after a command until it had the
// command's state, did what it says and was within 100 ms ("never" if it
// missed one), and where its bytes came from; then those times per command.
// Run by ../bench/rooms.sh --browsers.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';

import { ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from '../e2e/harness';
import { createRoom, type Evaluating, joinAs, percentile, removeMediaSource, roomSeqs, syncStatus } from '../e2e/room-pages';
import { type DriverPage, joinInDriver, launchFirefox, launchWebKit } from '../e2e/webdriver-page';

const SYNC_SECS = Number(process.env.SYNC_SECS ?? 90);
const COMMAND_EVERY_MS = 15_000;

let server: TestServer;
let chromium: Browser;
let movieId: string;

beforeAll(async () => {
  server = await startServer(LOOPBACK_SERVER);
  movieId = await ingestClip(server, 'Browsers bench', 240, '640x360', 8);
  chromium = await launchBrowser();
});

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
});

interface Member {
  name: string;
  page: Evaluating;
  close: () => Promise<void>;
}

async function chromiumMember(invite: string, name: string, withoutMediaSource = false): Promise<Member & { page: Page }> {
  const context = await chromium.newContext({ viewport: { width: 800, height: 600 } });
  if (withoutMediaSource) {
    await context.addInitScript(removeMediaSource);
  }
  const page: Page = await context.newPage();
  await page.goto(invite);
  await joinAs(page, name);
  return { name, page, close: () => context.close() };
}

async function driverMember(launch: () => Promise<DriverPage>, invite: string, name: string): Promise<Member> {
  const page = await launch();
  await page.goto(invite);
  await joinInDriver(page, name);
  return { name, page, close: () => page.close() };
}

/** The slowest of a member's times to sync, or "never" if it missed one. */
function worstOf(times: (number | undefined)[]): string {
  return times.some((ms) => ms === undefined) ? 'never' : String(Math.max(...(times as number[])));
}

it('ttff and sync per browser', async () => {
  const room = await createRoom(server.url, movieId);
  const invite = `${server.url}${room.invite_path}`;
  const members: Member[] = [];
  try {
    const host = await chromiumMember(invite, 'chromium host');
    members.push(host);
    members.push(await chromiumMember(invite, 'chromium'));
    members.push(await driverMember(launchFirefox, invite, 'firefox'));
    members.push(await driverMember(launchWebKit, invite, 'webkitgtk'));
    members.push(await chromiumMember(invite, 'chromium native HLS', true));
    // Each page notes when its video first plays, on the machine's clock.
    for (const { page } of members) {
      await page.evaluate(() => {
        const video = document.querySelector('video');
        const w = window as unknown as { firstFrameAt?: number };
        video?.addEventListener('playing', () => (w.firstFrameAt ??= Date.now()), { once: true });
      });
    }
    const movie = (await (await fetch(`${server.url}/api/movies/${movieId}`)).json()) as { duration_ms: number };
    const control = (action: 'play' | 'pause' | 'seek', deltaMs = 0): Promise<void> =>
      host.page.evaluate(
        ([a, delta, lastMs]) => {
          const room = window.cinemeshRoom?.room;
          // Seeks stay within the movie: the room refuses a position past its end.
          room?.control({ action: a, position_ms: Math.min(lastMs, Math.max(0, (room.roomPosition() ?? 0) + delta)) });
        },
        [action, deltaMs, movie.duration_ms - 5_000] as const,
      );
    const pages = members.map((m) => m.page);
    let since = await roomSeqs(pages);
    const playAt = Date.now();
    await control('play');

    const samples: number[][] = members.map(() => []);
    /** Per member, per command: ms until it had the command's state, did what it says and was within 100 ms; undefined: never before the next command. */
    const toSync: (number | undefined)[][] = members.map(() => [undefined]);
    const commands: string[] = ['play'];
    const schedule: ['play' | 'pause' | 'seek', number][] = [['pause', 0], ['play', 0], ['seek', 40_000], ['seek', -20_000]];
    let commandAt = Date.now();
    let next = 0;
    while (Date.now() - playAt < SYNC_SECS * 1_000) {
      if (Date.now() - commandAt >= (schedule[(next + 3) % 4]?.[0] === 'pause' ? 3_000 : COMMAND_EVERY_MS)) {
        const [action, delta] = schedule[next % 4] ?? ['play', 0];
        since = await roomSeqs(pages);
        await control(action, delta);
        next += 1;
        commandAt = Date.now();
        commands.push(action === 'seek' ? `seek ${delta > 0 ? '+' : ''}${delta / 1_000} s` : action);
        for (const row of toSync) row.push(undefined);
      }
      const statuses = await Promise.all(pages.map(syncStatus));
      statuses.forEach((status, i) => {
        const row = toSync[i] ?? [];
        const current = row.length - 1;
        if (row[current] === undefined && status.seq > (since[i] ?? Number.POSITIVE_INFINITY) && status.settled && status.error <= 100) row[current] = Date.now() - commandAt;
        // Steady: from 2 s after a command, while the room plays.
        if (status.playing && Date.now() - commandAt >= 2_000) samples[i]?.push(status.error);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    const rows = await Promise.all(
      members.map(async ({ name, page }, i) => {
        const facts = await page.evaluate(() => {
          const player = window.cinemeshRoom?.player;
          const stats = player?.engine.stats();
          return {
            path: player?.path ?? '-',
            firstFrameAt: (window as unknown as { firstFrameAt?: number }).firstFrameAt,
            httpMB: (stats?.httpBytes ?? 0) / 1e6,
            peerMB: (stats?.peerBytes ?? 0) / 1e6,
            upMB: (stats?.uploadedBytes ?? 0) / 1e6,
          };
        });
        const s = samples[i] ?? [];
        const ttff = facts.firstFrameAt === undefined ? '-' : String(facts.firstFrameAt - playAt);
        return [
          name.padEnd(20),
          facts.path.padEnd(21),
          ttff.padStart(7),
          percentile(s, 50).toFixed(0).padStart(8),
          percentile(s, 95).toFixed(0).padStart(8),
          (s.length === 0 ? Number.NaN : Math.max(...s)).toFixed(0).padStart(8),
          worstOf(toSync[i] ?? []).padStart(12),
          facts.httpMB.toFixed(1).padStart(7),
          facts.peerMB.toFixed(1).padStart(7),
          facts.upMB.toFixed(1).padStart(6),
        ].join(' ');
      }),
    );
    console.log(
      [
        `\nSUMMARY\nbrowsers: one room, ${members.length} members, ${SYNC_SECS} s, a command every ${COMMAND_EVERY_MS / 1_000} s (pause, play 3 s later, seek +40 s, seek -20 s)`,
        `${'member'.padEnd(20)} ${'path'.padEnd(21)} ttff_ms sync_p50 sync_p95 sync_max to_100ms_max http_MB peer_MB up_MB`,
        ...rows,
        `ms until each member had each command's state, did what it says and was within 100 ms (commands: ${commands.join(', ')}):`,
        ...members.map(({ name }, i) => `${name.padEnd(20)} ${(toSync[i] ?? []).map((ms) => (ms === undefined ? 'never' : String(ms))).join(' ')}`),
      ].join('\n'),
    );
  } finally {
    for (const member of members) await member.close().catch(() => {});
  }
});
