// WebTorrent clients can use our tracker at /announce. Two real clients from
// npm (bittorrent-tracker 9, with the @roamhq/wrtc WebRTC stack) announce one
// info hash: our tracker relays the offer and the answer, the two connect peer
// to peer on loopback and exchange a message. Scrape counts them. A message
// with too many offers, or malformed ids, gets a "failure reason".
import { randomBytes } from 'node:crypto';

import wrtc from '@roamhq/wrtc';
import Client, { type SimplePeer } from 'bittorrent-tracker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { startServer, type TestServer } from './harness';

let server: TestServer;
let announceUrl: string;

beforeAll(async () => {
  server = await startServer({ CINEMESH_DEMO_ENABLED: 'false' });
  announceUrl = `${server.url.replace('http', 'ws')}/announce`;
});

afterAll(async () => {
  await server?.stop();
});

function client(infoHash: string): Client {
  return new Client({
    infoHash,
    peerId: randomBytes(20).toString('hex'),
    announce: [announceUrl],
    port: 6881,
    wrtc,
    // Seeders say left = 0; this one is a leecher of unknown size.
    getAnnounceOpts: () => ({ left: 1000 }),
  });
}

/** Resolves with the first peer that connects through this client. */
function connectedPeer(tracker: Client): Promise<SimplePeer> {
  return new Promise((resolve) => {
    tracker.on('peer', (peer: SimplePeer) => peer.once('connect', () => resolve(peer)));
  });
}

/** A raw WebSocket to /announce that returns the next message it receives. */
async function rawSocket(): Promise<{ send: (m: unknown) => void; next: () => Promise<Record<string, unknown>>; close: () => void }> {
  const socket = new WebSocket(announceUrl);
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const queue: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  socket.on('message', (data) => {
    const message = JSON.parse(String(data)) as Record<string, unknown>;
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  return {
    send: (m) => socket.send(JSON.stringify(m)),
    next: () => new Promise((resolve) => {
      const queued = queue.shift();
      if (queued) resolve(queued);
      else waiters.push(resolve);
    }),
    close: () => socket.close(),
  };
}

describe('WebTorrent compatibility', () => {
  it('introduces two bittorrent-tracker clients who connect over WebRTC', async () => {
    const infoHash = randomBytes(20).toString('hex');
    const first = client(infoHash);
    const second = client(infoHash);
    const warnings: string[] = [];
    for (const c of [first, second]) c.on('warning', (e: Error) => warnings.push(e.message));
    const firstPeer = connectedPeer(first);
    const secondPeer = connectedPeer(second);
    first.start();
    // The second announces once the first is in the swarm, so its offers reach it.
    await new Promise((resolve) => first.once('update', resolve));
    second.start();
    const [a, b] = await Promise.all([firstPeer, secondPeer]);
    const received = new Promise<string>((resolve) => b.once('data', (data: Uint8Array) => resolve(Buffer.from(data).toString())));
    a.send('hello through a cinemesh-introduced peer');
    expect(await received).toBe('hello through a cinemesh-introduced peer');

    const scraped = new Promise<{ complete: number; incomplete: number }>((resolve) => first.once('scrape', resolve));
    first.scrape();
    expect(await scraped).toMatchObject({ complete: 0, incomplete: 2 });
    expect(warnings).toEqual([]);
    a.destroy();
    b.destroy();
    await Promise.all([new Promise<void>((r) => first.destroy(r)), new Promise<void>((r) => second.destroy(r))]);
  });

  it('refuses too many offers and malformed ids with a failure reason', async () => {
    const socket = await rawSocket();
    const infoHash = 'i'.repeat(20);
    const peerId = 'p'.repeat(20);
    const offers = Array.from({ length: 11 }, (_, i) => ({ offer: { type: 'offer', sdp: 'v=0' }, offer_id: `${i}`.padEnd(20, 'o') }));
    socket.send({ action: 'announce', info_hash: infoHash, peer_id: peerId, numwant: 11, offers });
    expect(await socket.next()).toMatchObject({ 'failure reason': expect.stringContaining('too many offers') });
    socket.send({ action: 'announce', info_hash: 'short', peer_id: peerId });
    expect(await socket.next()).toMatchObject({ 'failure reason': 'invalid info_hash' });
    socket.send({ action: 'announce', info_hash: infoHash, peer_id: peerId, answer: { type: 'answer', sdp: 'v=0' } });
    expect(await socket.next()).toMatchObject({ 'failure reason': expect.stringContaining('to_peer_id') });
    socket.send({ action: 'teleport' });
    expect(await socket.next()).toMatchObject({ 'failure reason': 'unknown action' });
    socket.send({ action: 'announce', info_hash: infoHash, peer_id: peerId });
    expect(await socket.next()).toMatchObject({ action: 'announce', interval: 120, complete: 0, incomplete: 1 });
    socket.close();
  });
});
