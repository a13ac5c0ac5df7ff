// The watch party across emulated homes: one viewer in each home of a
// network lab (services/netlab; home-party puts 6 homes behind 2 full-cone,
// 2 port-restricted and 2 symmetric NATs), a movie with real bitrate (grain
// in every frame; 480p, 360p and 240p rungs), and a server whose uplink is
// below half of what the viewers need over HTTP. The host starts a room as
// soon as everyone has joined, then pauses, plays, seeks 40 s ahead and 20 s
// back. Each origin (the page over HTTPS through nginx, and at the server's
// plain-HTTP public address) is run twice in the same lab: the room with
// P2P, then the same with P2P off. Printed per viewer: time to first frame
// (from the host's play), stalls (waits of 100 ms or more; the briefer waits
// apart), share of play time at each rendition, MB
// over HTTP, from peers and uploaded, sync |error| p50/p95; per pass, how
// long each command took to bring everyone within 100 ms; one summary line
// per origin.
//
// Run by ../bench/netlab-party.sh inside the lab's server host; settings from
// the environment: PLAY_SECS (120), MOVIE_SECS (180), ORIGINS ("https,http"),
// PEER_LANES (the loader's default; a list such as "3,1" runs the P2P pass
// once with each number of connections per peer, in the same run),
// LANGUAGES (none; "en,fr" gives the movie one audio track per language, as
// renditions of their own, and the homes pick them in turn: printed per
// language, how many copies of each audio segment the origin served).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';

import { ingestClip, startServer, type TestServer } from '../e2e/harness';
import { currentLab, launchBrowserIn, type Lab, type LabHost, startTurn, type Turn } from '../e2e/lab';
import { joinAs, percentile } from '../e2e/room-pages';
import { startTlsProxy, type TlsProxy } from '../e2e/tls-proxy';
import {
  describeStall,
  instrument,
  laneCountsFromEnv,
  servedSegmentBytes,
  servedSegmentBytesByRendition,
  setPreferences,
  type StallMark,
  VISIBLE_STALL_MS,
  visibleStall,
} from '../e2e/viewers';

const PLAY_SECS = Number(process.env.PLAY_SECS ?? 120);
const MOVIE_SECS = Number(process.env.MOVIE_SECS ?? 180);
const ORIGINS = (process.env.ORIGINS ?? 'https,http').split(',') as ('https' | 'http')[];
/** Connections per peer for the P2P passes; undefined: the loader's default. */
const LANE_COUNTS = laneCountsFromEnv();
/** The movie's audio languages (BCP 47); the homes take them in turn. Empty: one muxed audio track. */
const LANGUAGES = (process.env.LANGUAGES ?? '').split(',').filter((l) => l !== '');
/** What ffmpeg tags a source's audio with, per language the bench knows. */
const ISO_639_2: Record<string, string> = { en: 'eng', fr: 'fre', de: 'ger', es: 'spa' };
const SAMPLE_EVERY_MS = 250;
const IN_SYNC_MS = 100;

const lab: Lab = (() => {
  const found = currentLab();
  if (found === undefined) throw new Error('run inside a network lab: bench/netlab-party.sh');
  return found;
})();
/** One viewer per home: the first client of each. */
const homes: LabHost[] = lab.clients.filter((c) => c.name.endsWith('-c1'));

let server: TestServer;
let turn: Turn;
let tls: TlsProxy | undefined;
let movieId: string;
const browsers: Browser[] = [];

beforeAll(async () => {
  turn = await startTurn(lab, false);
  server = await startServer({
    CINEMESH_DEMO_ENABLED: 'false',
    CINEMESH_SERVER_BIND: `${lab.server.address}:8080`,
    CINEMESH_SERVER_TRUSTED_PROXIES: JSON.stringify([lab.server.address]),
    ...turn.serverEnv,
  });
  const started = Date.now();
  const audioLanguages = LANGUAGES.map((l) => {
    const code = ISO_639_2[l];
    if (code === undefined) throw new Error(`LANGUAGES: ${l} is not one of ${Object.keys(ISO_639_2).join(', ')}`);
    return code;
  });
  movieId = await ingestClip(server, 'Lab party bench', MOVIE_SECS, '854x480', 18, audioLanguages);
  console.log(`ingested a ${MOVIE_SECS} s movie in ${((Date.now() - started) / 1000).toFixed(0)} s: ${await ladder()}`);
  if (ORIGINS.includes('https')) tls = await startTlsProxy(lab.server.address, new URL(server.url).host);
  const trust = tls === undefined ? [] : [`--ignore-certificate-errors-spki-list=${tls.spki}`];
  for (const home of homes) browsers.push(await launchBrowserIn(home, trust));
});

afterAll(async () => {
  for (const browser of browsers) await browser.close();
  tls?.stop();
  await server?.stop();
  turn?.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number): string => (bytes / 1e6).toFixed(1);

/** The movie's renditions with their peak bandwidth, from the master playlist. */
async function ladder(): Promise<string> {
  const master = await (await fetch(`${server.url}/media/${movieId}/master.m3u8`)).text();
  return [...master.matchAll(/BANDWIDTH=(\d+).*RESOLUTION=\d+x(\d+)/g)]
    .map((m) => `${m[2]}p ${(Number(m[1]) / 1e6).toFixed(2)} Mbit/s`)
    .join(', ');
}

/** Installed before the page's scripts: when the video first showed a frame (Date.now()). */
function markFirstFrame(): void {
  const w = window as unknown as { __firstFrameAt?: number };
  document.addEventListener('playing', () => (w.__firstFrameAt ??= Date.now()), true);
}

/**
 * Installed before the page's scripts: what the room client said and heard
 * about starting (its status messages, the room's playback states), so the
 * time to first frame can be split into its steps. The first few only.
 */
function traceStart(): void {
  const w = window as unknown as { __startTrace?: { at: number; kind: string; playing?: boolean; anchor?: number }[] };
  const trace: NonNullable<typeof w.__startTrace> = (w.__startTrace = []);
  const LIMIT = 40;
  const watched = new WeakSet<WebSocket>();
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (this: WebSocket, data: string | ArrayBufferLike | Blob | ArrayBufferView) {
    if (!watched.has(this)) {
      watched.add(this);
      this.addEventListener('message', (event: MessageEvent) => {
        if (trace.length >= LIMIT || typeof event.data !== 'string' || !event.data.includes('"playback"')) return;
        const message = JSON.parse(event.data) as { type?: string; state?: { playing: boolean; anchor_ms: number } };
        if (message.type === 'playback' && message.state !== undefined) {
          trace.push({ at: Date.now(), kind: 'playback', playing: message.state.playing, anchor: message.state.anchor_ms });
        }
      });
    }
    if (trace.length < LIMIT && typeof data === 'string' && data.includes('"type":"status"')) {
      trace.push({ at: Date.now(), kind: data.includes('"buffering":true') ? 'buffering' : 'ready' });
    }
    send.call(this, data);
  };
}

interface Sample {
  /** |video − room| ms, undefined before a scheduled start. */
  error: number | undefined;
  /** The room plays (past its scheduled start). */
  running: boolean;
  /** Height of the rendition on screen while the video advances. */
  height: number | undefined;
  /** Height of the rendition the player loads when it is fixed (the room's), else undefined. */
  loading: number | undefined;
  /** Seconds buffered ahead of the position. */
  ahead: number;
}

function sample(page: Page): Promise<Sample> {
  return page.evaluate(() => {
    const state = window.cinemeshRoom;
    const video = document.querySelector('video');
    const playback = state?.room.playback;
    if (state === undefined || video === null || playback === undefined) {
      return { error: undefined, running: false, height: undefined, loading: undefined, ahead: 0 };
    }
    const beforeStart = playback.playing && state.room.serverNow() < playback.anchor_ms;
    const error = beforeStart ? undefined : Math.abs(video.currentTime * 1000 - (state.room.roomPosition() ?? Number.NaN));
    const hls = state.player?.hls;
    const advancing = !video.paused && video.readyState >= 3;
    const height = advancing && hls !== undefined ? hls.levels[hls.currentLevel]?.height : undefined;
    const loading = hls !== undefined && hls.manualLevel >= 0 ? hls.levels[hls.manualLevel]?.height : undefined;
    let ahead = 0;
    for (let i = 0; i < video.buffered.length; i++) {
      if (video.buffered.start(i) <= video.currentTime + 0.1 && video.currentTime < video.buffered.end(i)) ahead = video.buffered.end(i) - video.currentTime;
    }
    return { error, running: playback.playing && !beforeStart, height, loading, ahead };
  });
}

interface ViewerResult {
  home: string;
  nat: string;
  ttffMs: number;
  /** Waits of the video someone sees (`visibleStall`). */
  stalls: number;
  /** Every `waiting` of the video while it should play, seen or not. */
  waits: number;
  stallMs: number;
  /** Seconds buffered ahead, every 5 s from the play. */
  aheads: number[];
  /** Each stall: when it began (s after the play), what was held or the seek it followed, and how long it lasted. */
  stallsAt: string[];
  /** Samples while the video advanced, by rendition height. */
  heights: Map<number, number>;
  httpBytes: number;
  peerBytes: number;
  uploadedBytes: number;
  errors: number[];
  peerId: string;
  /** Peer ids this viewer moved bytes with. */
  linked: string[];
  /** Throughput of the last transfer from each peer it downloaded from, bytes/s. */
  peerRates: number[];
  /** Segments that went to HTTP, by reason. */
  httpReasons: Record<string, number>;
  /** How its waits for the room fetchers' copies ended (`RoomPlan.waitEnds`). */
  fetcherWaits: Record<string, number>;
  /** The first segment requests over HTTP: rendition/sequence, from and to (s after the play). */
  firstFetches: string[];
  /** Segment fetches over HTTP per phase of the run (see `phases`): count and MB. */
  httpByPhase: string[];
  /** The steps from the play to the first frame (see `startSteps`). */
  startSteps: string;
  /** Every segment the player got, when (ms since the epoch) and from where. */
  deliveries: Delivery[];
  /** The audio language it picked (LANGUAGES), and its audio bytes over HTTP and from peers. */
  audioLanguage: string | undefined;
  audioHttpBytes: number;
  audioPeerBytes: number;
}

interface Delivery {
  at: number;
  rendition: string;
  sequence: number;
  bytes: number;
  source: string;
  peer?: string;
  reason?: string;
}

interface PassResult {
  viewers: ViewerResult[];
  /** When the seek ahead was sent (ms since the epoch), the host first loaded another rendition, and the play. */
  seekAheadAt: number | undefined;
  firstSwitchAt: number | undefined;
  playAt: number;
  originBytes: number;
  /** What the room measured its origin at in the end, bytes/s (undefined: nothing measured). */
  roomOriginBytesPerSec: number | undefined;
  /** Per command: its name and ms until everyone was within 100 ms (NaN: never). */
  commands: { name: string; ms: number }[];
  /** The host's loading rendition when it changed: height (undefined: hls.js picks) and s after the play. */
  roomRenditions: string[];
  /** The phases HTTP fetches are counted in: name and start, s after the play. */
  phases: { name: string; from: number }[];
  /** The origin's bytes of each audio rendition in the pass. */
  originAudioBytes: Map<string, number>;
}

/** Seconds after each start or seek counted apart from steady play: the start's and the seeks' bursts. */
const BURST_SECS = 10;

/**
 * The phases of a run: the first seconds after the play and after each seek,
 * and the steady play between them, so that the origin's bytes can be traced
 * to the moments that cost them.
 */
function runPhases(seeks: { name: string; at: number }[]): { name: string; from: number }[] {
  const bursts = [{ name: 'start', at: 0 }, ...seeks];
  return bursts.flatMap((burst, i) => [
    { name: burst.name, from: burst.at },
    { name: `steady${i + 1}`, from: burst.at + BURST_SECS },
  ]);
}

/** Counts `fetches` (s after the play, bytes) per phase: "name N/MB". */
function byPhase(fetches: { at: number; bytes: number }[], phases: { name: string; from: number }[]): string[] {
  return phases.map((phase, i) => {
    const until = phases[i + 1]?.from ?? Number.POSITIVE_INFINITY;
    const inside = fetches.filter((f) => f.at >= phase.from && f.at < until);
    return `${phase.name} ${inside.length}/${(sum(inside.map((f) => f.bytes)) / 1e6).toFixed(1)}`;
  });
}

async function openMember(browser: Browser, p2p: boolean, peerLanes: number | undefined, audioLanguage: string | undefined): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 } });
  await context.addInitScript(instrument);
  await context.addInitScript(markFirstFrame);
  await context.addInitScript(traceStart);
  if (audioLanguage !== undefined) {
    await context.addInitScript((saved) => localStorage.setItem('cinemesh.tracks', saved), JSON.stringify({ audioLanguage }));
  }
  await setPreferences(context, { p2p, ...(peerLanes === undefined ? {} : { peerLanes }) });
  return context.newPage();
}

/** One pass: everyone joins, the host plays, then pauses, plays and seeks on a schedule. */
async function pass(base: string, p2p: boolean, peerLanes?: number): Promise<PassResult> {
  const pages: Page[] = [];
  const languageOf = (i: number): string | undefined => LANGUAGES[i % Math.max(1, LANGUAGES.length)];
  for (const [i, browser] of browsers.entries()) pages.push(await openMember(browser, p2p, peerLanes, languageOf(i)));
  const [host, ...guests] = pages;
  if (host === undefined) throw new Error('no viewers');
  await host.goto(`${base}/movies/${movieId}`);
  await host.getByRole('button', { name: 'Start watch party' }).click();
  await host.waitForURL(/\/rooms\//);
  await joinAs(host, 'Home1');
  const invite = (await host.getByTestId('invite').textContent()) ?? '';
  await Promise.all(
    guests.map(async (guest, i) => {
      await guest.goto(invite);
      await joinAs(guest, `Home${i + 2}`);
    }),
  );
  const originBefore = await servedSegmentBytes(server.url, movieId);
  const audioBefore = await servedSegmentBytesByRendition(server.url, movieId);
  const control = (action: 'play' | 'pause' | 'seek', position_ms: number): Promise<void> =>
    host.evaluate((c) => window.cinemeshRoom?.room.control(c), { action, position_ms });
  const position = (): Promise<number> => host.evaluate(() => window.cinemeshRoom?.room.roomPosition() ?? 0);

  // The schedule, in seconds after the first play: pause, play 3 s later, seek ahead, seek back.
  const schedule: { at: number; name: string; run: (now: number) => Promise<void>; settleMs: number }[] = [
    { at: 0.2 * PLAY_SECS, name: 'pause', run: (now) => control('pause', now), settleMs: 2_000 },
    { at: 0.2 * PLAY_SECS + 3, name: 'play', run: (now) => control('play', now), settleMs: 2_000 },
    { at: 0.4 * PLAY_SECS, name: 'seek +40 s', run: (now) => control('seek', now + 40_000), settleMs: 3_000 },
    { at: 0.65 * PLAY_SECS, name: 'seek -20 s', run: (now) => control('seek', Math.max(0, now - 20_000)), settleMs: 3_000 },
  ];
  const errors: number[][] = pages.map(() => []);
  const heights: Map<number, number>[] = pages.map(() => new Map());
  const commands: { name: string; ms: number }[] = [];
  let current = { name: 'play', at: Date.now(), settleMs: 2_000, synced: false };
  const roomRenditions: string[] = [];
  const aheads: number[][] = pages.map(() => []);
  let aheadEvery5s = -1;
  let lastLoading: number | undefined;
  const phases = runPhases(schedule.filter((c) => c.name.startsWith('seek')));
  // What each player gets and from where, to see what a seek ahead waits on.
  for (const page of pages) {
    await page.evaluate(() => {
      const w = window as unknown as { __deliveries?: unknown[] };
      w.__deliveries = [];
      window.cinemeshRoom?.player?.engine.addEventListener('segment', (e) => w.__deliveries?.push({ at: Date.now(), ...(e as CustomEvent<object>).detail }));
      const b = window as unknown as { __buffered?: { at: number; sn: number | string }[] };
      b.__buffered = [];
      // The event's name as a string: the page's hls.js module is not the bench's to import.
      type FragEvents = { on: (event: string, listener: (event: unknown, data: { frag: { sn: number | string } }) => void) => void };
      const hls = window.cinemeshRoom?.player?.hls as unknown as FragEvents | undefined;
      hls?.on('hlsFragBuffered', (_event, { frag }) => {
        if ((b.__buffered?.length ?? 0) < 4) b.__buffered?.push({ at: Date.now(), sn: frag.sn });
      });
    });
  }
  let seekAheadAt: number | undefined;
  let firstSwitchAt: number | undefined;
  const playAt = Date.now();
  await host.getByTestId('play').click();
  let next = 0;
  while (Date.now() - playAt < PLAY_SECS * 1000) {
    const due = schedule[next];
    if (due !== undefined && Date.now() - playAt >= due.at * 1000) {
      if (!current.synced) commands.push({ name: current.name, ms: Number.NaN });
      await due.run(await position());
      current = { name: due.name, at: Date.now(), settleMs: due.settleMs, synced: false };
      if (due.name === 'seek +40 s') seekAheadAt = current.at;
      next += 1;
    }
    const samples = await Promise.all(pages.map(sample));
    const second = Math.floor((Date.now() - playAt) / 5_000);
    if (second > aheadEvery5s) {
      aheadEvery5s = second;
      for (const [i, s] of samples.entries()) aheads[i]?.push(Math.round(s.ahead));
    }
    const hostLoading = samples[0]?.loading;
    if (hostLoading !== lastLoading) {
      if (lastLoading !== undefined && firstSwitchAt === undefined) firstSwitchAt = Date.now();
      roomRenditions.push(`${hostLoading ?? 'auto'}p@${((Date.now() - playAt) / 1000).toFixed(1)}`);
      lastLoading = hostLoading;
    }
    const since = Date.now() - current.at;
    const known = samples.map((s) => s.error).filter((e): e is number => e !== undefined);
    if (!current.synced && known.length === pages.length && known.every((e) => e <= IN_SYNC_MS)) {
      commands.push({ name: current.name, ms: since });
      current.synced = true;
    }
    for (const [i, s] of samples.entries()) {
      if (s.running && s.error !== undefined && since >= current.settleMs) errors[i]?.push(s.error);
      if (s.height !== undefined) heights[i]?.set(s.height, (heights[i]?.get(s.height) ?? 0) + 1);
    }
    await sleep(SAMPLE_EVERY_MS);
  }
  if (!current.synced) commands.push({ name: current.name, ms: Number.NaN });
  const viewers = await Promise.all(
    pages.map(async (page, i): Promise<ViewerResult> => {
      const home = homes[i] as LabHost;
      const figures = await page.evaluate(() => {
        const w = window as unknown as {
          __firstFrameAt?: number;
          __counters: { stallMs: number; stallsAt: StallMark[] };
          __deliveries?: Delivery[];
          __startTrace?: { at: number; kind: string; playing?: boolean; anchor?: number }[];
          __buffered?: { at: number; sn: number | string }[];
        };
        const stats = window.cinemeshRoom?.player?.engine.stats();
        return {
          firstFrameAt: w.__firstFrameAt ?? Number.NaN,
          stallMs: w.__counters.stallMs,
          stallsAt: w.__counters.stallsAt,
          deliveries: w.__deliveries ?? [],
          startTrace: w.__startTrace ?? [],
          buffered: w.__buffered ?? [],
          audioHttpBytes: stats?.audioHttpBytes ?? 0,
          audioPeerBytes: stats?.audioPeerBytes ?? 0,
          httpBytes: stats?.httpBytes ?? 0,
          peerBytes: stats?.peerBytes ?? 0,
          uploadedBytes: stats?.uploadedBytes ?? 0,
          peerId: stats?.peerId ?? '',
          linked: (stats?.peers ?? []).filter((p) => p.downloadedBytes + p.uploadedBytes > 0).map((p) => p.id),
          peerRates: (stats?.peers ?? []).filter((p) => p.downloadBytesPerSec > 0).map((p) => p.downloadBytesPerSec),
          // HTTP loads made again after going silent (a dead connection) show beside the reasons.
          httpReasons: {
            ...((stats?.httpReasons ?? {}) as Record<string, number>),
            ...((stats?.silentHttpLoads ?? 0) > 0 ? { silent_restarts: stats?.silentHttpLoads ?? 0 } : {}),
          },
          fetcherWaits: stats?.fetcherWaits ?? {},
          fetches: (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
            // Not the browser's cache answering a second request for a segment under way.
            .filter((e) => /seg_\d+\.ts/.test(e.name) && e.transferSize > 0)
            .map((e) => ({
              name: e.name,
              from: performance.timeOrigin + e.startTime,
              to: performance.timeOrigin + e.responseEnd,
              bytes: e.encodedBodySize,
            })),
        };
      });
      return {
        home: home.name.replace(/-c\d+$/, ''),
        nat: home.nat ?? '',
        ttffMs: figures.firstFrameAt - playAt,
        startSteps: startSteps(figures.startTrace, figures.buffered, figures.firstFrameAt, playAt),
        stalls: figures.stallsAt.filter(visibleStall).length,
        waits: figures.stallsAt.length,
        stallMs: figures.stallMs,
        aheads: aheads[i] ?? [],
        stallsAt: figures.stallsAt.map((stall) => describeStall(stall, playAt)),
        deliveries: figures.deliveries,
        audioLanguage: languageOf(i),
        audioHttpBytes: figures.audioHttpBytes,
        audioPeerBytes: figures.audioPeerBytes,
        heights: heights[i] ?? new Map(),
        httpBytes: figures.httpBytes,
        peerBytes: figures.peerBytes,
        uploadedBytes: figures.uploadedBytes,
        errors: errors[i] ?? [],
        peerId: figures.peerId,
        linked: figures.linked,
        peerRates: figures.peerRates,
        httpReasons: figures.httpReasons,
        fetcherWaits: figures.fetcherWaits,
        httpByPhase: byPhase(
          figures.fetches.map((f) => ({ at: (f.from - playAt) / 1000, bytes: f.bytes })),
          phases,
        ),
        firstFetches: figures.fetches.slice(0, 6).map((f) => {
          const [, rendition, sequence] = /\/([^/]+)\/seg_(\d+)\.ts/.exec(f.name) ?? [];
          return `${rendition}/${Number(sequence)} ${((f.from - playAt) / 1000).toFixed(1)}..${((f.to - playAt) / 1000).toFixed(1)}`;
        }),
      };
    }),
  );
  const originBytes = (await servedSegmentBytes(server.url, movieId)) - originBefore;
  const originAudioBytes = new Map(
    [...(await servedSegmentBytesByRendition(server.url, movieId))]
      .filter(([rendition]) => rendition.startsWith('audio-'))
      .map(([rendition, bytes]) => [rendition, bytes - (audioBefore.get(rendition) ?? 0)]),
  );
  const roomOriginBytesPerSec = await host.evaluate(() => window.cinemeshRoom?.room.originBytesPerSec);
  for (const page of pages) await page.context().close();
  return { viewers, originBytes, originAudioBytes, roomOriginBytesPerSec, commands, roomRenditions, phases, seekAheadAt, firstSwitchAt, playAt };
}

const share = (heights: Map<number, number>, height: number): number => {
  const total = [...heights.values()].reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : (heights.get(height) ?? 0) / total;
};

function printPass(label: string, result: PassResult, renditions: number[]): void {
  const measured = result.roomOriginBytesPerSec;
  const roomSaid = measured === undefined ? '' : `; the room measured it at ${((measured * 8) / 1e6).toFixed(2)} Mbit/s`;
  console.log(`\n${label}: origin served ${mb(result.originBytes)} MB${roomSaid}`);
  console.log(
    [
      'viewer',
      'nat'.padEnd(15),
      'ttff_ms',
      'stalls',
      'waits',
      'stall_ms',
      ...renditions.map((h) => `${h}p`.padStart(5)),
      'http_MB',
      'peer_MB',
      'up_MB',
      'sync_p50',
      'sync_p95',
      ' http_reasons',
    ].join(' '),
  );
  for (const v of result.viewers) {
    console.log(
      [
        v.home.padEnd(6),
        v.nat.padEnd(15),
        v.ttffMs.toFixed(0).padStart(7),
        String(v.stalls).padStart(6),
        String(v.waits).padStart(5),
        v.stallMs.toFixed(0).padStart(8),
        ...renditions.map((h) => `${(share(v.heights, h) * 100).toFixed(0)}%`.padStart(5)),
        mb(v.httpBytes).padStart(7),
        mb(v.peerBytes).padStart(7),
        mb(v.uploadedBytes).padStart(5),
        percentile(v.errors, 50).toFixed(0).padStart(8),
        percentile(v.errors, 95).toFixed(0).padStart(8),
        ` ${Object.entries(v.httpReasons).map(([reason, n]) => `${reason}:${n}`).join(' ')}`,
      ].join(' '),
    );
  }
  for (const v of result.viewers) console.log(`${v.home} first HTTP segments (s after play): ${v.firstFetches.join(', ')}`);
  for (const v of result.viewers) console.log(`${v.home} start (s after play): ${v.startSteps}`);
  console.log(
    `HTTP segment fetches/MB per phase (${result.phases.map((p) => `${p.name} from ${p.from.toFixed(0)} s`).join(', ')}):`,
  );
  for (const v of result.viewers) console.log(`${v.home} ${v.httpByPhase.join(', ')}`);
  for (const v of result.viewers) console.log(`${v.home} buffered ahead every 5 s (s): ${v.aheads.join(' ')}`);
  for (const v of result.viewers.filter((v) => Object.keys(v.fetcherWaits).length > 0)) {
    const ends = Object.entries(v.fetcherWaits).sort(([a], [b]) => a.localeCompare(b));
    console.log(`${v.home} waits for the room fetcher's copy ended: ${ends.map(([how, n]) => `${how}:${n}`).join(', ')}`);
  }
  for (const v of result.viewers.filter((v) => v.stallsAt.length > 0)) {
    console.log(`${v.home} waits (after play): ${v.stallsAt.join(', ')}`);
  }
  printDeliveriesAfter(result, 'the play', result.playAt);
  printDeliveriesAfter(result, 'the seek ahead', result.seekAheadAt);
  printDeliveriesAfter(result, "the room's first switch", result.firstSwitchAt);
  if (result.roomRenditions.length > 0) console.log(`host loads (rendition@s after play): ${result.roomRenditions.join(', ')}`);
  for (const v of result.viewers.filter((v) => v.peerRates.length > 0)) {
    console.log(`${v.home} last transfer from each peer: ${v.peerRates.map((r) => `${((r * 8) / 1e6).toFixed(1)} Mbit/s`).join(', ')}`);
  }
  if (LANGUAGES.length > 0) console.log(`audio: ${audioCopies(result)}`);
  console.log(`everyone within ${IN_SYNC_MS} ms: ${result.commands.map((c) => `${c.name} ${Number.isNaN(c.ms) ? 'never' : `${c.ms} ms`}`).join(', ')}`);
}

/**
 * The first segments each player got after a moment of the run (the play,
 * the seek ahead, the room's first switch of rendition): rendition/sequence, where
 * from (a home, the cache when fetched ahead, or HTTP with its reason) and
 * when, s after that moment.
 */
/**
 * The steps to a viewer's first frame, s after the host's play: its first
 * fragments in the buffer, what it said of its player (buffering or ready)
 * and what the room said (waits, or plays from when: server and browsers
 * share this machine's clock), then the first frame.
 */
function startSteps(
  trace: { at: number; kind: string; playing?: boolean; anchor?: number }[],
  buffered: { at: number; sn: number | string }[],
  firstFrameAt: number,
  playAt: number,
): string {
  const s = (at: number): string => ((at - playAt) / 1000).toFixed(2);
  const said = trace
    .filter((t) => t.at >= playAt && t.at <= firstFrameAt)
    .map((t) => (t.kind === 'playback' ? `room ${t.playing === true ? `plays for ${s(t.anchor ?? Number.NaN)}` : 'waits'} ${s(t.at)}` : `${t.kind} ${s(t.at)}`));
  return [`buffered ${buffered.map((b) => `#${b.sn} ${s(b.at)}`).join(' ') || '-'}`, ...said, `first frame ${s(firstFrameAt)}`].join(', ');
}

function printDeliveriesAfter(result: PassResult, what: string, at: number | undefined): void {
  if (at === undefined) return;
  const homeOf = new Map(result.viewers.map((v) => [v.peerId, v.home]));
  console.log(`segments after ${what} (${((at - result.playAt) / 1000).toFixed(1)} s after play; s after it):`);
  for (const v of result.viewers) {
    const after = v.deliveries.filter((d) => d.at >= at).slice(0, 8);
    const from = (d: Delivery): string =>
      d.source === 'peer' ? `<${homeOf.get(d.peer ?? '') ?? '?'}` : d.source === 'http' ? ` http:${d.reason ?? ''}` : ` ${d.source}`;
    console.log(`${v.home} ${after.map((d) => `${d.rendition}/${d.sequence}${from(d)}@${((d.at - at) / 1000).toFixed(1)}`).join(', ')}`);
  }
}

const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);

/**
 * Per audio rendition: its listeners, the origin's bytes of it against the
 * bytes of the distinct segments they loaded (copies per segment; 1.00 is
 * each segment fetched once for the room), and the listeners' share from peers.
 */
function audioCopies(result: PassResult): string {
  return [...result.originAudioBytes]
    .map(([rendition, origin]) => {
      const distinct = new Map<number, number>();
      for (const d of result.viewers.flatMap((v) => v.deliveries)) if (d.rendition === rendition) distinct.set(d.sequence, d.bytes);
      const listeners = result.viewers.filter((v) => v.deliveries.some((d) => d.rendition === rendition));
      const http = sum(listeners.map((v) => v.audioHttpBytes));
      const peers = sum(listeners.map((v) => v.audioPeerBytes));
      const copies = origin / Math.max(1, sum([...distinct.values()]));
      return `${rendition} ${listeners.length} listeners, ${copies.toFixed(2)} origin copies per segment, ${((100 * peers) / Math.max(1, http + peers)).toFixed(0)} % from peers`;
    })
    .join('; ');
}

/** Pairs of viewers that moved bytes between them, of all pairs. */
function directPairs(viewers: ViewerResult[]): string {
  const pairs = new Set<string>();
  for (const v of viewers) for (const id of v.linked) pairs.add([v.peerId, id].sort().join(' '));
  return `${pairs.size} of ${(viewers.length * (viewers.length - 1)) / 2}`;
}

it('a watch party across homes: P2P against HTTP only', async () => {
  const renditions = (await ladder()).split(', ').map((r) => Number.parseInt(r, 10));
  const top = Math.max(...renditions);
  const lines: string[] = [];
  for (const origin of ORIGINS) {
    const base = origin === 'https' ? (tls as TlsProxy).url : server.url;
    const passes: { lanes: number | undefined; result: PassResult }[] = [];
    for (const lanes of LANE_COUNTS) passes.push({ lanes, result: await pass(base, true, lanes) });
    const httpOnly = await pass(base, false);
    console.log(`\n${lab.profile}, ${homes.length} homes, page over ${origin} (${base}), ${PLAY_SECS} s`);
    for (const { lanes, result } of passes) printPass(lanes === undefined ? 'with P2P' : `with P2P, ${lanes} connection(s) per peer`, result, renditions);
    printPass('HTTP only', httpOnly, renditions);
    for (const { lanes, result: withPeers } of passes) {
      const peers = sum(withPeers.viewers.map((v) => v.peerBytes));
      const http = sum(withPeers.viewers.map((v) => v.httpBytes));
      const oneViewer = Math.max(...httpOnly.viewers.map((v) => v.httpBytes));
      // HTTP only stays at the lowest rungs: a room with P2P that climbs loads
      // more per viewer, so the origin is also given against what it loaded.
      const onePeerViewer = Math.max(...withPeers.viewers.map((v) => v.httpBytes + v.peerBytes));
      const topShare = (r: PassResult): string => `${((sum(r.viewers.map((v) => share(v.heights, top))) / r.viewers.length) * 100).toFixed(0)} %`;
      const stalls = (r: PassResult): number => sum(r.viewers.map((v) => v.stalls));
      const briefWaits = (r: PassResult): number => sum(r.viewers.map((v) => v.waits - v.stalls));
      const ttff = (r: PassResult): string => percentile(r.viewers.map((v) => v.ttffMs), 50).toFixed(0);
      const line = [
        `netlab-party ${lab.profile} (${origin}${lanes === undefined ? '' : `, ${lanes} lane${lanes === 1 ? '' : 's'}`}):`,
        `origin ${(withPeers.originBytes / Math.max(1, httpOnly.originBytes)).toFixed(2)}x of http-only,`,
        `peers ${((100 * peers) / Math.max(1, peers + http)).toFixed(0)} %,`,
        `stalls ${stalls(withPeers)} vs ${stalls(httpOnly)} (waits under ${VISIBLE_STALL_MS} ms ${briefWaits(withPeers)} vs ${briefWaits(httpOnly)}),`,
        `top rendition ${topShare(withPeers)} vs ${topShare(httpOnly)},`,
        `sync p95 ${percentile(withPeers.viewers.flatMap((v) => v.errors), 95).toFixed(0)} ms,`,
        `ttff median ${ttff(withPeers)} vs ${ttff(httpOnly)} ms;`,
        `origin ${(withPeers.originBytes / Math.max(1, oneViewer)).toFixed(2)} viewers' worth`,
        `(${(withPeers.originBytes / Math.max(1, onePeerViewer)).toFixed(2)} of what a viewer loaded with P2P),`,
        `direct pairs ${directPairs(withPeers.viewers)}`,
        ...(LANGUAGES.length > 0 ? [`; audio with P2P: ${audioCopies(withPeers)}; HTTP only: ${audioCopies(httpOnly)}`] : []),
      ].join(' ');
      console.log(line);
      lines.push(line);
    }
  }
  console.log(`\nSUMMARY\n${lines.join('\n')}`);
});
