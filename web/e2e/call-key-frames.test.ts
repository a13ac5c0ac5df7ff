// Key frames in a call, between two real Chromium pages on loopback: the
// video a member sends starts with a key frame again when the other side
// asks for one over the room socket (as its page does when packets come but
// nothing decodes), and when the link moves to a new path (an ICE restart).
// Once the call has settled, Chromium's encoder sends no key frame on its own
// for a long while, and the sender's page counts the key frames it made, so
// each one counted here was made by the request. Nothing here depends on the
// database's kind, so it runs in the SQLite pass only.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { databaseMode, ingestClip, launchBrowser, LOOPBACK_SERVER, startServer, type TestServer } from './harness';
import { createRoom, joinAs } from './room-pages';

let server: TestServer;
let browser: Browser;
let movieId: string;

/** A member's page in the room that may use the camera, its connections kept in `window.__pcs`. */
async function memberPage(room: string, name: string): Promise<Page> {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone']);
  await context.addInitScript(() => {
    const made: RTCPeerConnection[] = [];
    (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs = made;
    const OriginalPc = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends OriginalPc {
      constructor(config?: RTCConfiguration) {
        super(config);
        made.push(this);
      }
    };
  });
  const page = await context.newPage();
  await page.goto(`${server.url}/rooms/${room}`);
  await joinAs(page, name);
  await page.getByRole('button', { name: 'Join the call' }).click();
  return page;
}

interface VideoCounters {
  keyFrames: number;
  frames: number;
}

/** The key frames and frames the page decoded from every video it gets. */
function decoded(page: Page): Promise<VideoCounters> {
  return page.evaluate(async () => {
    const counters = { keyFrames: 0, frames: 0 };
    for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === 'closed') continue;
      for (const entry of (await pc.getStats()).values() as Iterable<{ type: string; kind?: string; keyFramesDecoded?: number; framesDecoded?: number }>) {
        if (entry.type !== 'inbound-rtp' || entry.kind !== 'video') continue;
        counters.keyFrames += entry.keyFramesDecoded ?? 0;
        counters.frames += entry.framesDecoded ?? 0;
      }
    }
    return counters;
  });
}

/** Waits until the page has decoded no new key frame for `quietMs` (the call's start has settled); returns the count. */
async function settledKeyFrames(page: Page, quietMs: number): Promise<number> {
  const deadline = Date.now() + 60_000;
  let last = (await decoded(page)).keyFrames;
  let since = Date.now();
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = (await decoded(page)).keyFrames;
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return now;
  }
  throw new Error(`key frames kept coming for 60 s: ${last}`);
}

/** The key frames the page made for the member named `to` (its mesh's count). */
function keyFramesSentTo(page: Page, to: string): Promise<number> {
  return page.evaluate((to) => {
    const state = window.cinemeshRoom;
    const member = state?.room.members.find((m) => m.name === to);
    return member === undefined ? -1 : (state?.mesh.diagnostics()[member.id]?.keyFrames.sent ?? -1);
  }, to);
}

/** Whether every encoding of every video the page sends is on. */
function sendsEveryEncoding(page: Page): Promise<boolean> {
  return page.evaluate(() =>
    (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs
      .filter((pc) => pc.connectionState !== 'closed')
      .flatMap((pc) => pc.getSenders())
      .filter((sender) => sender.track?.kind === 'video')
      .every((sender) => sender.getParameters().encodings.every((encoding) => encoding.active !== false)),
  );
}

/** The video keeps decoding: more frames after `ms` than now. */
async function framesKeepComing(page: Page, ms: number): Promise<boolean> {
  const before = (await decoded(page)).frames;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return (await decoded(page)).frames > before;
}

describe.skipIf(databaseMode !== 'sqlite')('key frames in a call', () => {
  let ana: Page;
  let ben: Page;

  beforeAll(async () => {
    server = await startServer(LOOPBACK_SERVER);
    movieId = await ingestClip(server, 'Key frame clip', 10);
    browser = await launchBrowser();
    const { id } = await createRoom(server.url, movieId);
    ana = await memberPage(id, 'Ana');
    ben = await memberPage(id, 'Ben');
    // Ben sees Ana's camera.
    const deadline = Date.now() + 30_000;
    while ((await decoded(ben)).frames <= 30) {
      if (Date.now() > deadline) throw new Error('Ben never decoded 30 frames from Ana');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('a member asked for a key frame sends one, and keeps sending', async () => {
    const before = await settledKeyFrames(ben, 3_000);
    const made = await keyFramesSentTo(ana, 'Ben');
    await ben.evaluate(() => {
      const state = window.cinemeshRoom;
      const ana = state?.room.members.find((m) => m.name === 'Ana');
      if (state === undefined || ana === undefined) throw new Error('no room or no Ana');
      state.room.signal(ana.id, { keyframe: true });
    });
    await expect.poll(async () => (await decoded(ben)).keyFrames, { timeout: 5_000 }).toBeGreaterThan(before);
    expect(await keyFramesSentTo(ana, 'Ben'), 'made by the request').toBe(made + 1);
    expect(await sendsEveryEncoding(ana), 'the sender is on again').toBe(true);
    expect(await framesKeepComing(ben, 1_000), 'frames after the key frame').toBe(true);
  });

  it('a member whose link moves to a new path sends a key frame', async () => {
    const before = await settledKeyFrames(ben, 3_000);
    const made = await keyFramesSentTo(ana, 'Ben');
    // A restart gathers candidates with new credentials: a new pair carries the link.
    await ana.evaluate(() => {
      for (const pc of (window as unknown as { __pcs: RTCPeerConnection[] }).__pcs) if (pc.connectionState === 'connected') pc.restartIce();
    });
    await expect.poll(async () => (await decoded(ben)).keyFrames, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(await keyFramesSentTo(ana, 'Ben'), 'made on the new path').toBeGreaterThan(made);
    expect(await sendsEveryEncoding(ana), 'the sender is on again').toBe(true);
    expect(await framesKeepComing(ben, 1_000), 'frames after the key frame').toBe(true);
  });
});
