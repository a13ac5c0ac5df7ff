// Viewers for the P2P browser tests: a page on a movie, with counters the
// page cannot fake (WebSockets to the tracker, RTCPeerConnections made, the
// video element's stalls and frame quality) and the loader's own numbers.
import type { Browser, BrowserContext, Page } from 'playwright-core';

import type { P2PStats, SegmentLoaded } from '../src/p2p/types';

export interface ViewerOptions {
  /** Sharing preferences set before the page loads. */
  p2p?: boolean;
  upload?: boolean;
  uploadBytesPerSec?: number;
  /** Connections to one peer (the loader's default when absent). */
  peerLanes?: number;
}

export interface ViewerReport {
  stats: P2PStats;
  segments: SegmentLoaded[];
  currentTime: number;
  /** `waiting` events after playback first started. */
  stalls: number;
  stallMs: number;
  /** From navigation to the first `playing` event, ms (NaN before it). */
  firstFrameMs: number;
  trackerSockets: number;
  peerConnections: number;
  corruptedFrames: number;
  decodedFrames: number;
  hlsErrors: string[];
  /** Bytes of the segments that were played (the last one delivered for each sequence before the playhead). */
  playedBytes: number;
}

/**
 * A wait of the movie's video, from its `waiting` to its next `playing`: when it began
 * (Date.now()), whether the video was seeking then, how many seconds it held buffered
 * past where it stood, how long it lasted (once over), and the seeks that came in it
 * (for one that began seeking, the seek it followed).
 */
export interface StallMark {
  at: number;
  seeking: boolean;
  ahead: number;
  ms?: number;
  seek?: string;
}

/** A wait of the movie this long is a stall someone sees, ms. */
export const VISIBLE_STALL_MS = 100;
/** A wait that began with less than this buffered ahead is the player running dry, s. */
export const DRY_AHEAD_SECS = 1;

/**
 * Whether a wait is a stall someone sees: it lasted `VISIBLE_STALL_MS` or more (or is not
 * over). A busy machine's browser fires `waiting` for a few ms with seconds buffered, and a
 * seek while playing does for as long as the seek takes: nobody sees those.
 */
export function visibleStall(stall: StallMark): boolean {
  return stall.ms === undefined || stall.ms >= VISIBLE_STALL_MS;
}

/**
 * A stall for a report, `at` from `sinceMs`: "53.7 s (1.2 s held, 6 ms)",
 * "31.3 s (5.1 s held, then seeking 62.95->63.05, 290 ms)", "2.9 s (seeking 10.20->10.55, 3 ms)".
 */
export function describeStall(stall: StallMark, sinceMs: number): string {
  const seek = stall.seek === undefined ? 'seeking' : `seeking ${stall.seek}`;
  const seeks = stall.seek === undefined && !stall.seeking ? [] : [`${stall.seeking ? '' : 'then '}${seek}`];
  const held = stall.seeking ? seeks : [`${stall.ahead.toFixed(1)} s held`, ...seeks];
  const lasted = stall.ms === undefined ? 'not over' : `${stall.ms.toFixed(0)} ms`;
  return `${((stall.at - sinceMs) / 1000).toFixed(1)} s (${[...held, lasted].join(', ')})`;
}

/** Installed before any page script: counts what the app opens and how the video behaves. */
export function instrument(): void {
  const w = window as unknown as Record<string, unknown>;
  // Every segment fetch of a run is read back from resource timing (250 entries by default).
  performance.setResourceTimingBufferSize(10_000);
  const counters = {
    trackerSockets: 0,
    peerConnections: 0,
    stalls: 0,
    stallMs: 0,
    stallsAt: [] as StallMark[],
    started: false,
    waitingSince: 0,
    firstFrameMs: Number.NaN,
  };
  w.__counters = counters;
  const NativeSocket = window.WebSocket;
  window.WebSocket = class extends NativeSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      if (String(url).includes('/tracker')) counters.trackerSockets += 1;
    }
  };
  const NativePeerConnection = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(config?: RTCConfiguration) {
      super(config);
      counters.peerConnections += 1;
    }
  };
  // The movie's player only: a call's tiles are videos too, and freeze when a call's path does.
  const isMovie = (target: EventTarget | null): boolean => target instanceof HTMLVideoElement && target.srcObject === null;
  // The movie's last seek ("from->to s", and whether it was paused): a seek
  // into what is not buffered stalls, and how it moved usually says who made
  // it (the room's sync pauses before it seeks; hls.js's nudges and the stall
  // kick do not, and move a tenth or half a second).
  let lastSeek = '';
  const currentTime = Object.getOwnPropertyDescriptor(HTMLMediaElement.prototype, 'currentTime');
  if (currentTime?.get !== undefined && currentTime.set !== undefined) {
    const [get, set] = [currentTime.get, currentTime.set];
    Object.defineProperty(HTMLMediaElement.prototype, 'currentTime', {
      ...currentTime,
      set(this: HTMLMediaElement, value: number) {
        if (isMovie(this)) lastSeek = `${this.paused ? 'paused ' : ''}${(get.call(this) as number).toFixed(2)}->${value.toFixed(2)}`;
        set.call(this, value);
      },
    });
  }
  document.addEventListener(
    'playing',
    (event) => {
      if (!isMovie(event.target)) return;
      if (!counters.started) counters.firstFrameMs = performance.now();
      counters.started = true;
      if (counters.waitingSince > 0) {
        const ms = performance.now() - counters.waitingSince;
        counters.stallMs += ms;
        const last = counters.stallsAt.at(-1);
        if (last !== undefined) last.ms = ms;
      }
      counters.waitingSince = 0;
    },
    true,
  );
  document.addEventListener(
    'waiting',
    (event) => {
      const video = event.target as HTMLVideoElement;
      if (!isMovie(video)) return;
      // The end of the movie is not a stall.
      if (!counters.started || video.ended || video.currentTime >= video.duration - 0.5) return;
      // A wait that begins before the last one ended (hls.js nudging a stuck video
      // ahead) is the same stall, which lasts until the video plays again.
      if (counters.waitingSince > 0) {
        const last = counters.stallsAt.at(-1);
        if (last !== undefined && video.seeking && lastSeek !== '') last.seek = last.seek === undefined ? lastSeek : `${last.seek}, ${lastSeek}`;
        return;
      }
      counters.stalls += 1;
      const range = [...Array(video.buffered.length).keys()].find((i) => video.buffered.start(i) <= video.currentTime + 0.1 && video.currentTime < video.buffered.end(i));
      const ahead = range === undefined ? 0 : video.buffered.end(range) - video.currentTime;
      const wait: (typeof counters.stallsAt)[number] = { at: Date.now(), seeking: video.seeking, ahead: Math.round(ahead * 10) / 10 };
      if (video.seeking && lastSeek !== '') wait.seek = lastSeek;
      counters.stallsAt.push(wait);
      counters.waitingSince = performance.now();
    },
    true,
  );
}

/** Sets the sharing preferences of every page `context` opens, before the page loads. */
export async function setPreferences(context: BrowserContext, options: ViewerOptions): Promise<void> {
  await context.addInitScript((prefs: ViewerOptions) => {
    if (prefs.p2p === false) localStorage.setItem('cinemesh.p2p', 'off');
    if (prefs.upload === false) localStorage.setItem('cinemesh.upload', 'off');
    if (prefs.uploadBytesPerSec !== undefined) localStorage.setItem('cinemesh.uploadLimit', String(prefs.uploadBytesPerSec));
    if (prefs.peerLanes !== undefined) localStorage.setItem('cinemesh.peerLanes', String(prefs.peerLanes));
  }, options);
}

/**
 * The numbers of connections per peer a benchmark compares, from PEER_LANES
 * ("3,1"); one undefined (the loader's default) when unset.
 */
export function laneCountsFromEnv(): (number | undefined)[] {
  return process.env.PEER_LANES ? process.env.PEER_LANES.split(',').map(Number) : [undefined];
}

export async function openViewer(
  browser: Browser,
  url: string,
  options: ViewerOptions = {},
  /** Readies the page's context before it loads (e.g. routes its requests). */
  prepare: (context: BrowserContext) => Promise<void> = async () => {},
): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 800, height: 600 } });
  await context.addInitScript(instrument);
  await setPreferences(context, options);
  await prepare(context);
  const page = await context.newPage();
  await page.goto(url);
  await page.waitForFunction(() => window.cinemeshPlayer !== undefined);
  await page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    const player = window.cinemeshPlayer;
    if (player === undefined) return;
    const segments: SegmentLoaded[] = [];
    const errors: string[] = [];
    w.__segments = segments;
    w.__hlsErrors = errors;
    player.engine.addEventListener('segment', (event) => segments.push((event as CustomEvent<SegmentLoaded>).detail));
    player.hls?.on('hlsError' as never, ((_: unknown, data: { details: string; fatal: boolean }) => {
      errors.push(`${data.details}${data.fatal ? ' (fatal)' : ''}`);
    }) as never);
    const video = document.querySelector('video');
    if (video === null) return;
    video.muted = true;
    void video.play();
  });
  return page;
}

export function waitForPosition(page: Page, seconds: number, timeoutMs: number): Promise<unknown> {
  return page.waitForFunction((s) => (document.querySelector('video')?.currentTime ?? 0) >= s, seconds, {
    timeout: timeoutMs,
    polling: 250,
  });
}

export function report(page: Page): Promise<ViewerReport> {
  return page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    const counters = w.__counters as {
      trackerSockets: number;
      peerConnections: number;
      stalls: number;
      stallMs: number;
      firstFrameMs: number;
    };
    const segments = (w.__segments ?? []) as SegmentLoaded[];
    const video = document.querySelector('video') as HTMLVideoElement;
    const player = window.cinemeshPlayer;
    if (player === undefined) throw new Error('no player on the page');
    const quality = video.getVideoPlaybackQuality();
    const lastBySequence = new Map<number, SegmentLoaded>();
    for (const s of segments) lastBySequence.set(s.sequence, s);
    let playedBytes = 0;
    for (const [sequence, s] of lastBySequence) {
      const info = player.engine.index.get(s.rendition, sequence);
      if (info !== undefined && info.startSecs < video.currentTime) playedBytes += s.bytes;
    }
    return {
      stats: player.engine.stats(),
      segments,
      currentTime: video.currentTime,
      stalls: counters.stalls,
      stallMs: counters.stallMs,
      firstFrameMs: counters.firstFrameMs,
      trackerSockets: counters.trackerSockets,
      peerConnections: counters.peerConnections,
      corruptedFrames: quality.corruptedVideoFrames,
      decodedFrames: quality.totalVideoFrames,
      hlsErrors: (w.__hlsErrors ?? []) as string[],
      playedBytes,
    };
  });
}

/** The segment server's byte counter for a movie's segments, from /metrics. */
export async function servedSegmentBytes(serverUrl: string, movie: string): Promise<number> {
  return [...(await servedSegmentBytesByRendition(serverUrl, movie)).values()].reduce((a, b) => a + b, 0);
}

/** The same, per rendition. */
export async function servedSegmentBytesByRendition(serverUrl: string, movie: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const served = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('cinemesh_segment_bytes_served_total{') && line.includes(`movie="${movie}"`) && line.includes('kind="segment"')) {
      const rendition = /rendition="([^"]*)"/.exec(line)?.[1] ?? '';
      served.set(rendition, (served.get(rendition) ?? 0) + Number(line.split(' ').at(-1)));
    }
  }
  return served;
}

/** A Prometheus counter or gauge without labels, from /metrics. */
export async function metric(serverUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${serverUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.split(' ')[1]);
}
