// The browser's tracker client against the real server: it says hello and gets
// a peer id, joins a rendition's swarm with the catalog's token, learns who
// holds a window, relays a WebRTC signal to the peer it was introduced to, and
// hears the tracker's refusals as coded errors.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

import { TrackerClient, type WebSocketConstructor } from '../src/p2p/tracker-client';
import type { Signal } from '../src/protocol/Signal';
import type { SwarmKey } from '../src/protocol/SwarmKey';
import { binary, makeClip, startServer, type TestServer } from './harness';

const Socket = WebSocket as unknown as WebSocketConstructor;
let server: TestServer;
let trackerUrl: string;
let swarm: SwarmKey;
let token: string;

beforeAll(async () => {
  server = await startServer({ CINEMESH_DEMO_ENABLED: 'false' });
  const clip = join(server.dataDir, 'clip.mp4');
  makeClip(clip, 4);
  execFileSync(binary, ['ingest', clip, '--title', 'Tracker client clip'], { env: server.env, stdio: 'pipe' });
  const page = (await (await fetch(`${server.url}/api/movies`)).json()) as { movies: { id: string }[] };
  const movieId = page.movies[0]?.id ?? '';
  const detail = (await (await fetch(`${server.url}/api/movies/${movieId}`)).json()) as {
    tracker: { url: string; token: string };
    renditions: { name: string }[];
  };
  swarm = { movie: movieId, rendition: detail.renditions[0]?.name ?? '' };
  token = detail.tracker.token;
  trackerUrl = `${server.url.replace('http', 'ws')}${detail.tracker.url}`;
});

afterAll(async () => {
  await server?.stop();
});

describe('tracker client', () => {
  it('finds a holder and relays a signal to it', async () => {
    const signals: { from: string; signal: Signal }[] = [];
    const holder = await TrackerClient.connect(trackerUrl, { onSignal: (_s, from, signal) => signals.push({ from, signal }) }, Socket);
    const asker = await TrackerClient.connect(trackerUrl, {}, Socket);
    expect(holder.peerId).not.toBe('');
    expect(holder.peerId).not.toBe(asker.peerId);

    expect(await holder.join(swarm, token, [[0, 1]])).toBe(0);
    expect(await asker.join(swarm, token, [])).toBe(1);
    const holders = await asker.whoHas(swarm, 0, 2);
    expect(holders).toEqual([{ peer: holder.peerId, holds: [[0, 1]] }]);

    const offer: Signal = { kind: 'offer', sdp: 'v=0 offer from the asker' };
    asker.signal(swarm, holder.peerId, offer);
    await expect.poll(() => signals).toEqual([{ from: asker.peerId, signal: offer }]);

    holder.have(swarm, [], [[0, 1]]);
    await expect.poll(async () => (await asker.whoHas(swarm, 0, 2)).length).toBe(0);
    holder.close();
    asker.close();
  });

  it('hears refusals as coded errors', async () => {
    const errors: string[] = [];
    const client = await TrackerClient.connect(trackerUrl, { onError: (code) => errors.push(code) }, Socket);
    client.have({ movie: 'nosuchmovie', rendition: '720p' }, [[0, 0]], []);
    await expect.poll(() => errors).toEqual(['not_in_swarm']);
    await expect(client.join(swarm, 'forged.token.00', [])).rejects.toThrow('invalid_token');
    expect(errors).toEqual(['not_in_swarm', 'invalid_token']);
    client.close();
  });
});
