// Data channel throughput between two homes of the network lab: how fast one
// browser sends to another over 1, 2 and 3 peer connections at once (each an
// SCTP association with its own congestion window), and over 3 data channels
// of one peer connection (one association shared), alternating, with the
// peer loader's send settings (32 KiB messages, 128 KiB buffered at most).
//
// Run by ../bench/datachannel.sh inside the lab's server host; settings from
// the environment: DC_BYTES (bytes per trial, 4 MB), DC_ROUNDS (3).
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, it } from 'vitest';

import { currentLab, launchBrowserIn, startTurn, type Turn } from '../e2e/lab';

const BYTES = Number(process.env.DC_BYTES ?? 4_000_000);
const ROUNDS = Number(process.env.DC_ROUNDS ?? 3);
const lab = currentLab();

let turn: Turn | undefined;
const browsers: Browser[] = [];
let sender: Page;
let receiver: Page;

interface Layout {
  name: string;
  connections: number;
  channelsPerConnection: number;
}

const LAYOUTS: Layout[] = [
  { name: '1 connection', connections: 1, channelsPerConnection: 1 },
  { name: '2 connections', connections: 2, channelsPerConnection: 1 },
  { name: '3 connections', connections: 3, channelsPerConnection: 1 },
  { name: '1 connection, 3 channels', connections: 1, channelsPerConnection: 3 },
];

beforeAll(async () => {
  if (lab === undefined) throw new Error('run by bench/datachannel.sh, inside a network lab');
  const homes = lab.clients.filter((c) => c.name.endsWith('-c1'));
  if (homes.length < 2) throw new Error('the lab needs two homes');
  turn = await startTurn(lab, false);
  for (const home of homes.slice(0, 2)) browsers.push(await launchBrowserIn(home));
  const [a, b] = await Promise.all(browsers.map((browser) => browser.newPage()));
  if (a === undefined || b === undefined) throw new Error('two pages were not opened');
  [sender, receiver] = [a, b];
  for (const page of [sender, receiver]) await page.evaluate(installPeer, `stun:${lab.server.address}:3478`);
});

afterAll(async () => {
  for (const browser of browsers) await browser.close();
  turn?.stop();
});

/** What `installPeer` gives each page, as `window.dc`. */
interface PeerBench {
  reset: () => void;
  offer: (connections: number, channels: number) => Promise<string[]>;
  answer: (offers: string[], channels: number) => Promise<string[]>;
  accept: (answers: string[]) => Promise<void>;
  opened: () => Promise<void>;
  receive: (total: number) => Promise<number>;
  send: (total: number) => Promise<void>;
}
type BenchWindow = Window & { dc: PeerBench };

/** Runs in each page: a set of peer connections it can offer, answer and pump. */
function installPeer(stun: string): void {
  type Peer = { pcs: RTCPeerConnection[]; channels: RTCDataChannel[] };
  const state: Peer = { pcs: [], channels: [] };
  const gathered = (pc: RTCPeerConnection): Promise<void> =>
    new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
    });
  const make = (channels: number): RTCPeerConnection => {
    const pc = new RTCPeerConnection({ iceServers: [{ urls: stun }] });
    for (let id = 0; id < channels; id++) {
      const channel = pc.createDataChannel(`c${id}`, { negotiated: true, id, ordered: true });
      channel.binaryType = 'arraybuffer';
      state.channels.push(channel);
    }
    state.pcs.push(pc);
    return pc;
  };
  const described = (pc: RTCPeerConnection): string => {
    if (pc.localDescription === null) throw new Error('no local description');
    return pc.localDescription.sdp;
  };
  const w: Partial<PeerBench> = {};
  (window as unknown as { dc: Partial<PeerBench> }).dc = w;
  w.reset = () => {
    for (const pc of state.pcs) pc.close();
    state.pcs = [];
    state.channels = [];
  };
  w.offer = async (connections: number, channels: number) => {
    const sdps: string[] = [];
    for (let i = 0; i < connections; i++) {
      const pc = make(channels);
      await pc.setLocalDescription();
      await gathered(pc);
      sdps.push(described(pc));
    }
    return sdps;
  };
  w.answer = async (offers: string[], channels: number) => {
    const sdps: string[] = [];
    for (const sdp of offers) {
      const pc = make(channels);
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription();
      await gathered(pc);
      sdps.push(described(pc));
    }
    return sdps;
  };
  w.accept = async (answers: string[]) => {
    for (const [i, sdp] of answers.entries()) await state.pcs[i]?.setRemoteDescription({ type: 'answer', sdp });
  };
  w.opened = async () => {
    await Promise.all(
      state.channels.map(
        (c) => new Promise<void>((resolve) => (c.readyState === 'open' ? resolve() : c.addEventListener('open', () => resolve()))),
      ),
    );
  };
  // Receives `total` bytes over all channels; resolves with ms from first to last byte.
  w.receive = (total: number) =>
    new Promise<number>((resolve) => {
      let got = 0;
      let first = 0;
      for (const channel of state.channels) {
        channel.onmessage = ({ data }) => {
          if (first === 0) first = performance.now();
          got += (data as ArrayBuffer).byteLength;
          if (got >= total) resolve(performance.now() - first);
        };
      }
    });
  // Sends `total` bytes split evenly over the channels, as the loader uploads.
  w.send = async (total: number) => {
    const chunk = new Uint8Array(32 * 1024);
    const share = Math.ceil(total / state.channels.length);
    await Promise.all(
      state.channels.map(async (channel) => {
        channel.bufferedAmountLowThreshold = 32 * 1024;
        for (let sent = 0; sent < share; sent += chunk.length) {
          if (channel.bufferedAmount > 128 * 1024)
            await new Promise((resolve) => channel.addEventListener('bufferedamountlow', resolve, { once: true }));
          channel.send(chunk.subarray(0, Math.min(chunk.length, share - sent)));
        }
      }),
    );
  };
}

async function trial(layout: Layout): Promise<number> {
  const { connections, channelsPerConnection: channels } = layout;
  await Promise.all([sender, receiver].map((page) => page.evaluate(() => (window as unknown as BenchWindow).dc.reset())));
  const offers = await sender.evaluate(([n, c]) => (window as unknown as BenchWindow).dc.offer(n, c), [connections, channels] as const);
  const answers = await receiver.evaluate(([o, c]) => (window as unknown as BenchWindow).dc.answer(o, c), [offers, channels] as const);
  await sender.evaluate((a) => (window as unknown as BenchWindow).dc.accept(a), answers);
  await Promise.all([sender, receiver].map((page) => page.evaluate(() => (window as unknown as BenchWindow).dc.opened())));
  const unit = 32 * 1024 * connections * channels;
  const total = Math.ceil(BYTES / unit) * unit;
  const received = receiver.evaluate((t) => (window as unknown as BenchWindow).dc.receive(t), total);
  await sender.evaluate((t) => (window as unknown as BenchWindow).dc.send(t), total);
  const ms = await received;
  return (total * 8) / (ms / 1000) / 1e6;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

it('data channel throughput between two homes', async () => {
  const results = new Map<string, number[]>(LAYOUTS.map((l) => [l.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const layout of LAYOUTS) results.get(layout.name)?.push(await trial(layout));
  }
  const homes = lab?.clients.filter((c) => c.name.endsWith('-c1')) ?? [];
  const home = (i: number): string => `${homes[i]?.name} (${homes[i]?.nat})`;
  console.log(`${lab?.profile}: ${home(0)} -> ${home(1)}, ${(BYTES / 1e6).toFixed(1)} MB per trial, ${ROUNDS} rounds alternating`);
  const one = median(results.get('1 connection') ?? []);
  for (const layout of LAYOUTS) {
    const values = results.get(layout.name) ?? [];
    console.log(
      `${layout.name.padEnd(26)} median ${median(values).toFixed(2)} Mbit/s (${(median(values) / one).toFixed(2)}x), runs ${values.map((v) => v.toFixed(2)).join(' ')}`,
    );
  }
});
