// Which homes reach each other, and how: every pair of homes of the network
// lab (full-cone, port-restricted and symmetric NATs) opens a WebRTC
// connection with the ICE servers a viewer gets, once from the server's own
// STUN/TURN (`[turn]`, relay on) and once from coturn (set up as `docker
// compose` does: the credentials the server hands out, made with the secret
// coturn shares), sends a message
// across it and back, and each side sends the other a call's video (a
// canvas) and audio (an oscillator). Proves:
// - every pair connects, through TURN where the NATs leave no direct path,
//   and each side decodes the other's video frames and receives its audio;
// - a full-cone home reaches a full-cone or port-restricted one directly
//   (host or server-reflexive candidates, never a relay);
// - a symmetric home and a port-restricted or symmetric one connect only
//   through the relay (their NATs leave nothing else).
// It prints each pair's candidate types and time to connect, and the share
// of pairs that connected directly.
//
// Runs only inside a lab (NETLAB_RUN_ID set by scripts/lab-e2e.sh, which runs
// this file in the lab's server host).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { rtcIceServers } from '../src/api/ice-servers';
import type { MovieDetail } from '../src/api/types';
import { ingestClip, startServer, type TestServer } from './harness';
import { currentLab, launchBrowserIn, type Lab, type LabHost, startTurn, type Turn } from './lab';

const lab: Lab | undefined = currentLab();
/** The server's own STUN/TURN port: coturn holds 3478 on the same host. */
const OWN_TURN_PORT = 3479;

interface PairOutcome {
  state: string;
  local: string;
  remote: string;
  connectMs: number;
  echoed: boolean;
  /** Each side decoded video frames and received audio packets from the other. */
  media: boolean;
}

let server: TestServer;
let coturn: Turn;
let movieId: string;
const browsers: Browser[] = [];
const pages = new Map<string, Page>();

/** One home's page, in a browser inside its client host. */
async function pageIn(host: LabHost): Promise<Page> {
  const known = pages.get(host.name);
  if (known !== undefined) return known;
  const browser = await launchBrowserIn(host);
  browsers.push(browser);
  const page = await (await browser.newContext()).newPage();
  await page.goto(server.url);
  pages.set(host.name, page);
  return page;
}

/** Starts a connection named `id` in `page`; returns its description once its candidates are gathered (at most 10 s). */
function describeSide(page: Page, id: string, servers: RTCIceServer[], offer?: string): Promise<string> {
  return page.evaluate(
    async ({ id, servers, offer }) => {
      const w = window as unknown as { __pcs?: Record<string, { pc: RTCPeerConnection; echoed: Promise<boolean> }> };
      w.__pcs ??= {};
      const pc = new RTCPeerConnection({ iceServers: servers });
      // A call's media without a camera (the page is not a secure context): a canvas and a tone.
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [320, 240];
      const draw = canvas.getContext('2d');
      setInterval(() => {
        if (draw === null) return;
        draw.fillStyle = `hsl(${(performance.now() / 10) % 360} 80% 50%)`;
        draw.fillRect(0, 0, 320, 240);
      }, 66);
      const audio = new AudioContext();
      const tone = audio.createOscillator();
      const out = audio.createMediaStreamDestination();
      tone.connect(out);
      tone.start();
      const media = new MediaStream([...canvas.captureStream(15).getVideoTracks(), ...out.stream.getAudioTracks()]);
      let echoed: Promise<boolean>;
      if (offer === undefined) {
        for (const track of media.getTracks()) pc.addTrack(track, media);
        const channel = pc.createDataChannel('probe');
        echoed = new Promise<boolean>((resolve) => {
          channel.onopen = () => channel.send('x'.repeat(16_384));
          channel.onmessage = ({ data }) => resolve(String(data).length === 16_384);
          setTimeout(() => resolve(false), 30_000);
        });
        await pc.setLocalDescription();
      } else {
        pc.ondatachannel = ({ channel }) => (channel.onmessage = ({ data }) => channel.send(data as string));
        echoed = Promise.resolve(true);
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        for (const track of media.getTracks()) pc.addTrack(track, media);
        await pc.setLocalDescription();
      }
      w.__pcs[id] = { pc, echoed };
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        setTimeout(resolve, 10_000);
      });
      return pc.localDescription?.sdp ?? '';
    },
    { id, servers, offer },
  );
}

/** The offering side's outcome: its state, the selected pair's candidate types, and whether a message came back. */
function outcome(page: Page, id: string, answer: string): Promise<Omit<PairOutcome, 'media'>> {
  return page.evaluate(
    async ({ id, answer }) => {
      const w = window as unknown as { __pcs: Record<string, { pc: RTCPeerConnection; echoed: Promise<boolean> }> };
      const side = w.__pcs[id];
      if (side === undefined) throw new Error(`no connection ${id}`);
      const { pc } = side;
      const started = performance.now();
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (['connected', 'failed', 'closed'].includes(pc.connectionState)) resolve();
        };
        pc.addEventListener('connectionstatechange', check);
        check();
        setTimeout(resolve, 30_000);
      });
      const connectMs = Math.round(performance.now() - started);
      const echoed = pc.connectionState === 'connected' ? await side.echoed : false;
      const stats = [...(await pc.getStats()).values()] as { type: string; id: string; [key: string]: unknown }[];
      const transport = stats.find((s) => s.type === 'transport');
      const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
      const typeOf = (candidateId: unknown): string =>
        String(stats.find((s) => s.id === candidateId)?.candidateType ?? 'none');
      return { state: pc.connectionState, local: typeOf(pair?.localCandidateId), remote: typeOf(pair?.remoteCandidateId), connectMs, echoed };
    },
    { id, answer },
  );
}

/** The ICE servers a home's page uses: each page gets credentials of its own, as viewers do. */
type ServersFor = (home: LabHost) => Promise<RTCIceServer[]>;

/** Whether connection `id` in `page` decodes video frames and receives audio packets (waits up to 10 s). */
function receivesMedia(page: Page, id: string): Promise<boolean> {
  return page.evaluate(async (id) => {
    const w = window as unknown as { __pcs: Record<string, { pc: RTCPeerConnection }> };
    const pc = w.__pcs[id]?.pc;
    if (pc === undefined || pc.connectionState !== 'connected') return false;
    const deadline = performance.now() + 10_000;
    while (performance.now() < deadline) {
      const inbound = [...(await pc.getStats()).values()].filter((s: { type: string }) => s.type === 'inbound-rtp') as {
        kind: string;
        framesDecoded?: number;
        packetsReceived?: number;
      }[];
      const video = inbound.some((s) => s.kind === 'video' && (s.framesDecoded ?? 0) > 0);
      const audio = inbound.some((s) => s.kind === 'audio' && (s.packetsReceived ?? 0) > 0);
      if (video && audio) return true;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    return false;
  }, id);
}

async function connect(a: LabHost, b: LabHost, serversFor: ServersFor, id: string): Promise<PairOutcome> {
  const [pageA, pageB] = [await pageIn(a), await pageIn(b)];
  const offer = await describeSide(pageA, id, await serversFor(a));
  const answer = await describeSide(pageB, id, await serversFor(b), offer);
  const result = await outcome(pageA, id, answer);
  const media = (await Promise.all([receivesMedia(pageA, id), receivesMedia(pageB, id)])).every(Boolean);
  await Promise.all([pageA, pageB].map((page) => page.evaluate((id) => {
    const w = window as unknown as { __pcs: Record<string, { pc: RTCPeerConnection }> };
    w.__pcs[id]?.pc.close();
  }, id)));
  return { ...result, media };
}

const isRelay = (o: PairOutcome): boolean => o.local === 'relay' || o.remote === 'relay';

describe.skipIf(lab === undefined)('which homes reach each other', () => {
  beforeAll(async () => {
    if (lab === undefined) return;
    coturn = await startTurn(lab, true);
    server = await startServer({
      CINEMESH_DEMO_ENABLED: 'false',
      CINEMESH_SERVER_BIND: `${lab.server.address}:0`,
      // Both servers in the viewers' ICE servers, with one secret: each pair below uses one of them.
      ...coturn.serverEnv,
      CINEMESH_TURN_ENABLED: 'true',
      CINEMESH_TURN_RELAY: 'true',
      CINEMESH_TURN_LISTEN: `${lab.server.address}:${OWN_TURN_PORT}`,
    });
    movieId = await ingestClip(server, 'Pairs clip', 4);
  });

  afterAll(async () => {
    for (const browser of browsers) await browser.close();
    await server?.stop();
    coturn?.stop();
  });

  it('every pair connects, directly where the NATs allow it and through TURN elsewhere, with either TURN server', async () => {
    if (lab === undefined) return;
    const homes = lab.clients.filter((c) => c.name.endsWith('-c1'));
    // Each page gets credentials of its own, as viewers do; a configuration keeps one server's URLs.
    const fetched = new Map<string, RTCIceServer[]>();
    const serversOn = (port: number): ServersFor => async (home) => {
      let servers = fetched.get(home.name);
      if (servers === undefined) {
        const movie = (await (await fetch(`${server.url}/api/movies/${movieId}`)).json()) as MovieDetail;
        servers = rtcIceServers(movie.tracker.ice_servers, lab.server.address);
        fetched.set(home.name, servers);
      }
      return servers
        .map((entry) => ({ ...entry, urls: [entry.urls].flat().filter((url) => url.includes(`:${port}`)) }))
        .filter((entry) => entry.urls.length > 0);
    };
    const configs: [string, ServersFor][] = [
      ['embedded', serversOn(OWN_TURN_PORT)],
      ['coturn', serversOn(3478)],
    ];
    const failures: string[] = [];
    for (const [name, serversFor] of configs) {
      let direct = 0;
      let pairs = 0;
      console.log(`${name}: pair, NATs, state, local/remote candidate, connect ms, message back, video and audio both ways`);
      for (const [i, a] of homes.entries()) {
        for (const b of homes.slice(i + 1)) {
          const result = await connect(a, b, serversFor, `${name}-${a.name}-${b.name}`);
          pairs += 1;
          if (result.state === 'connected' && !isRelay(result)) direct += 1;
          const kinds = `${a.nat ?? '?'} ↔ ${b.nat ?? '?'}`;
          console.log(`  ${a.name}-${b.name}, ${kinds}, ${result.state}, ${result.local}/${result.remote}, ${result.connectMs}, ${result.echoed}, ${result.media}`);
          const expectDirect = (a.nat === 'full-cone' && b.nat !== 'symmetric') || (b.nat === 'full-cone' && a.nat !== 'symmetric');
          const expectRelay = [a.nat, b.nat].includes('symmetric') && ![a.nat, b.nat].includes('full-cone');
          if (result.state !== 'connected' || !result.echoed || !result.media) {
            failures.push(`${name} ${kinds}: ${result.state}, message back ${result.echoed}, media both ways ${result.media}`);
          }
          else if (expectDirect && isRelay(result)) failures.push(`${name} ${kinds}: relayed, expected direct`);
          else if (expectRelay && !isRelay(result)) failures.push(`${name} ${kinds}: ${result.local}/${result.remote}, expected a relay`);
        }
      }
      console.log(`${name}: ${direct} of ${pairs} pairs direct, ${pairs - direct} relayed or failed`);
    }
    const counters = await (await fetch(`${server.url}/metrics`)).text();
    console.log(counters.split('\n').filter((line) => /^cinemesh_turn_(refused|relays|relay_dropped)/.test(line)).join('\n'));
    expect(failures).toEqual([]);
  });
});
