// Audio and subtitle tracks in a room, between two real Chromium pages on a
// movie with English and French audio and subtitles (scripts/make-tracks-clip.sh):
// - Ana hears English and reads French; Ben hears French and reads nothing.
//   Each sees the other's choice in the People panel. Both stay in sync (steady p95 |error| <= 50 ms), each loads only its own
//   audio track, and each French cue shows on Ana's page within 100 ms of its time;
// - Ben switches to English while the room plays: he is back within 100 ms
//   of the room in <= 2 s, Ana never stalls, and Ben's English audio comes
//   from Ana over P2P. From then on the two English listeners split the
//   English audio's fetching under the room's plan: each segment crosses the
//   origin once, and Ana takes Ben's share from him;
// - the host suggests her languages: Ben keeps the audio he picked and takes
//   the subtitles; Cy, joining later with no choice of her own, takes both.
//
// Tracks do not touch the database past ingest, so these run in the SQLite pass only.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseWebVtt } from '../src/player/tracks/webvtt';
import type { SegmentLoaded } from '../src/p2p/types';
import { databaseMode, ingestFile, launchBrowser, LOOPBACK_SERVER, repoRoot, startServer, type TestServer } from './harness';
import { createRoom, joinAs, percentile, syncError } from './room-pages';
import { instrument } from './viewers';

let server: TestServer;
let browser: Browser;
let movieId: string;

const MOVIE_SECS = 40;

interface Watch {
  /** Audio renditions loaded, with where each segment came from. */
  audio: { rendition: string; sequence: number; source: string }[];
  /** Each change of the subtitle overlay's text, with the video's time then. */
  shown: { at: number; text: string }[];
  stalls: number;
  audioLanguage: string | undefined;
}

async function openMember(url: string, name: string, tracks: Record<string, string>): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
  await context.addInitScript(instrument);
  await context.addInitScript((saved) => localStorage.setItem('cinemesh.tracks', saved), JSON.stringify(tracks));
  const page = await context.newPage();
  await page.goto(url);
  await joinAs(page, name);
  // Record what the page loads and shows from here on.
  await page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    const watch = { audio: [] as unknown[], shown: [] as unknown[] };
    w.__watch = watch;
    window.cinemeshRoom?.player?.engine.addEventListener('segment', (event) => {
      const segment = (event as CustomEvent<SegmentLoaded>).detail;
      if (segment.rendition.startsWith('audio-')) watch.audio.push({ rendition: segment.rendition, sequence: segment.sequence, source: segment.source });
    });
    const overlay = document.querySelector('[data-testid=subtitles]');
    const video = document.querySelector('video');
    if (overlay === null || video === null) return;
    new MutationObserver(() => watch.shown.push({ at: video.currentTime, text: overlay.textContent ?? '' })).observe(overlay, {
      childList: true,
      subtree: true,
      characterData: true,
    });
  });
  return page;
}

function watched(page: Page): Promise<Watch> {
  return page.evaluate(() => {
    const w = window as unknown as Record<string, { audio: Watch['audio']; shown: Watch['shown'] } & { stalls: number }>;
    const hls = window.cinemeshRoom?.player?.hls;
    return {
      audio: w.__watch?.audio ?? [],
      shown: w.__watch?.shown ?? [],
      stalls: w.__counters?.stalls ?? -1,
      audioLanguage: hls?.audioTracks[hls.audioTrack]?.lang,
    };
  });
}

/** |error| samples every 100 ms for `ms`. */
async function sampleSync(pages: Page[], ms: number): Promise<number[][]> {
  const samples: number[][] = pages.map(() => []);
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const errors = await Promise.all(pages.map(syncError));
    errors.forEach((error, i) => samples[i]?.push(error));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return samples;
}

describe.skipIf(databaseMode !== 'sqlite')('audio and subtitle tracks in a room', () => {
  beforeAll(async () => {
    server = await startServer(LOOPBACK_SERVER);
    const clip = join(server.dataDir, 'tracks.mkv');
    execFileSync('bash', [join(repoRoot, 'scripts/make-tracks-clip.sh'), clip, String(MOVIE_SECS)]);
    movieId = await ingestFile(server, clip, 'Two languages');
    browser = await launchBrowser();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('each member hears and reads their own choice in sync, and switches audio without pulling anyone out', async () => {
    const room = await createRoom(server.url, movieId);
    const url = `${server.url}${room.invite_path}`;
    const ana = await openMember(url, 'Ana', { audioLanguage: 'en', subtitles: 'fr' });
    const ben = await openMember(url, 'Ben', { audioLanguage: 'fr', subtitles: 'off' });
    expect(await ana.getByTestId('subtitle-menu').inputValue(), 'French subtitles chosen').toBe('1');
    expect(await ben.getByTestId('audio-menu').inputValue(), 'French audio chosen').toBe('1');

    // Each sees the other's choice in the People panel.
    await ben.locator('.members li', { hasText: 'Ana' }).filter({ hasText: 'EN audio, FR subtitles' }).waitFor({ timeout: 10_000 });
    await ana.locator('.members li', { hasText: 'Ben' }).filter({ hasText: 'FR audio' }).waitFor({ timeout: 10_000 });
    expect(await ana.locator('.members li', { hasText: 'Ben' }).textContent()).not.toContain('subtitles');

    await ana.getByTestId('play').click();
    // Steady state: from 2 s after the start, for 7 s (past both French cues, at 1.5 and 6 s).
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const [anaErrors = [], benErrors = []] = await sampleSync([ana, ben], 7_000);
    const p95 = [percentile(anaErrors, 95), percentile(benErrors, 95)];
    console.log(`steady sync p95: Ana ${p95[0]?.toFixed(1)} ms, Ben ${p95[1]?.toFixed(1)} ms`);
    expect(Math.max(...p95)).toBeLessThanOrEqual(50);

    const anaBefore = await watched(ana);
    const benBefore = await watched(ben);
    expect(anaBefore.audioLanguage).toBe('en');
    expect(benBefore.audioLanguage).toBe('fr');
    expect(new Set(anaBefore.audio.map((a) => a.rendition)), 'Ana loads English audio only').toEqual(new Set(['audio-en']));
    expect(new Set(benBefore.audio.map((a) => a.rendition)), 'Ben loads French audio only').toEqual(new Set(['audio-fr']));

    // Each French cue showed on Ana's page within 100 ms of its time in the file; Ben shows none.
    const french = parseWebVtt(await (await fetch(`${server.url}/media/${movieId}/subs-fr/subtitles.vtt`)).text());
    for (const cue of french.filter((c) => c.end < 9)) {
      const text = (cue.nodes[0] as { text: string }).text;
      const shown = anaBefore.shown.find((s) => s.text.includes(text));
      expect(shown, `"${text}" was shown`).toBeDefined();
      const late = ((shown?.at ?? Number.NaN) - cue.start) * 1000;
      console.log(`"${text}" (${cue.start.toFixed(3)} s) shown ${late.toFixed(0)} ms after its time`);
      expect(Math.abs(late)).toBeLessThanOrEqual(100);
    }
    expect(benBefore.shown.every((s) => s.text === ''), 'Ben reads no subtitles').toBe(true);

    // Ben switches to English while the room plays.
    const switchedAt = Date.now();
    await ben.getByTestId('audio-menu').selectOption({ label: 'English' });
    let backInMs = Number.NaN;
    const deadline = Date.now() + 5_000;
    let inSyncSince: number | undefined;
    while (Date.now() < deadline) {
      const error = await syncError(ben);
      if (error <= 100) inSyncSince ??= Date.now();
      else inSyncSince = undefined;
      // Back means staying back: within 100 ms for a second.
      if (inSyncSince !== undefined && Date.now() - inSyncSince >= 1_000) {
        backInMs = inSyncSince - switchedAt;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    console.log(`Ben back within 100 ms of the room ${backInMs} ms after switching`);
    expect(backInMs).toBeLessThanOrEqual(2_000);
    await expect.poll(async () => (await watched(ben)).audioLanguage, { timeout: 5_000 }).toBe('en');
    await ana.locator('.members li', { hasText: 'Ben' }).filter({ hasText: 'EN audio' }).waitFor({ timeout: 5_000 });
    const audioPlanned = (page: Page): Promise<boolean> => page.evaluate(() => window.cinemeshRoom?.player?.engine.stats().audioPlanned === true);
    await expect.poll(async () => (await audioPlanned(ana)) && (await audioPlanned(ben)), { timeout: 5_000 }).toBe(true);
    const anaAtPlan = (await watched(ana)).audio.length;
    const benAtPlan = (await watched(ben)).audio.length;
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    const anaAfter = await watched(ana);
    const benAfter = await watched(ben);
    expect(anaAfter.stalls, 'Ana never stalled').toBe(0);
    const benEnglish = benAfter.audio.filter((a) => a.rendition === 'audio-en');
    console.log(`Ben's English audio segments after the switch: ${benEnglish.map((a) => `${a.sequence}:${a.source}`).join(' ')}`);
    expect(benEnglish.length).toBeGreaterThan(0);
    expect(benEnglish.some((a) => a.source === 'peer'), 'English audio came from Ana over P2P').toBe(true);
    // Under the English audio's own plan: the segments both loaded after it came crossed the origin once each.
    const anaLater = anaAfter.audio.slice(anaAtPlan).filter((a) => a.rendition === 'audio-en');
    const benLater = benAfter.audio.slice(benAtPlan).filter((a) => a.rendition === 'audio-en');
    console.log(`English audio under the plan: Ana ${anaLater.map((a) => `${a.sequence}:${a.source}`).join(' ')}; Ben ${benLater.map((a) => `${a.sequence}:${a.source}`).join(' ')}`);
    const both = anaLater.filter((a) => benLater.some((b) => b.sequence === a.sequence));
    const overHttp = (a: { source: string }): number => (a.source === 'http' ? 1 : 0);
    const copies = both.map((a) => overHttp(a) + overHttp(benLater.find((b) => b.sequence === a.sequence) ?? { source: '' }));
    console.log(`origin copies per English audio segment both loaded under the plan: ${copies.join(' ')}`);
    expect(both.length, 'both loaded English audio under the plan').toBeGreaterThanOrEqual(3);
    expect(copies.every((c) => c <= 1), 'each crossed the origin once at most').toBe(true);
    expect(anaLater.some((a) => a.source === 'peer'), 'Ana took Ben\'s share from him').toBe(true);
    // The P2P panel counts audio apart from the video.
    expect(await ben.getByTestId('p2p-kinds').textContent()).toMatch(/^Video \d+ % from peers \(.+\) · audio \d+ % from peers \(.+\)$/);

    // Ana, the host, turns to French audio and suggests her languages to the room.
    await ana.getByTestId('audio-menu').selectOption({ label: 'Français' });
    await ana.getByRole('button', { name: 'Suggest my languages to everyone' }).click();
    // Ben picked his audio on the page and keeps it; his subtitles follow the suggestion.
    await expect.poll(() => ben.getByTestId('subtitle-menu').inputValue(), { timeout: 5_000 }).toBe('1');
    expect(await ben.getByTestId('audio-menu').inputValue(), 'Ben keeps the English he picked').toBe('0');
    // Cy joins later, with no choice of her own: she takes both.
    const cy = await openMember(url, 'Cy', {});
    expect(await cy.getByTestId('suggested-tracks').textContent()).toBe('The host suggests FR audio, FR subtitles');
    await expect.poll(() => cy.getByTestId('audio-menu').inputValue(), { timeout: 5_000 }).toBe('1');
    expect(await cy.getByTestId('subtitle-menu').inputValue()).toBe('1');
    await expect.poll(async () => (await watched(cy)).audioLanguage, { timeout: 10_000 }).toBe('fr');
    expect(await ben.getByRole('button', { name: 'Suggest my languages to everyone' }).isHidden(), 'only the host suggests').toBe(true);
    for (const page of [ana, ben, cy]) await page.context().close();
  });
});
