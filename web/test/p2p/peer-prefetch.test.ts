import { createHash } from 'node:crypto';

import { describe, expect, it, vi } from 'vitest';

import type { GivenUp } from '../../src/p2p/deadline-download';
import { PeerPrefetch } from '../../src/p2p/peer-prefetch';
import { SegmentCache } from '../../src/p2p/segment-cache';
import { SegmentIndex } from '../../src/p2p/segment-index';

/** Ten 2 s segments of 100 bytes; segment n is filled with n. */
const segment = (n: number): Uint8Array => new Uint8Array(100).fill(n);
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const index = new SegmentIndex({
  movie_id: 'm',
  renditions: [
    {
      name: '240p',
      durations_ms: Array.from({ length: 10 }, () => 2000),
      sizes_bytes: Array.from({ length: 10 }, () => 100),
      sha256: Array.from({ length: 10 }, (_, n) => sha256(segment(n))),
    },
  ],
} as never);

interface Request {
  peer: string;
  sequence: number;
  signal: AbortSignal;
  progress: (received: number) => void;
  finish: (outcome: Uint8Array | GivenUp) => void;
}

/**
 * Peers that hold what `holds` says, over links the test opens; each transfer
 * waits until the test finishes it.
 */
function swarm(options: { holds: Record<string, number[]>; open?: string[]; loading?: number[]; playhead?: number; bufferedTo?: number }) {
  const cache = new SegmentCache({ capacityBytes: 10_000, onAdded: () => {}, onDropped: () => {} });
  const requests: Request[] = [];
  const warmed: string[] = [];
  const fetched: string[] = [];
  const open = new Set(options.open ?? Object.keys(options.holds));
  let playhead = options.playhead ?? 0;
  const prefetch = new PeerPrefetch({
    index,
    cache,
    rendition: () => '240p',
    playhead: () => playhead,
    bufferedTo: () => Math.max(playhead, options.bufferedTo ?? 0),
    aheadSecs: () => 10,
    minLeadSecs: () => 4,
    holdersOf: async (_rendition, n) => Object.keys(options.holds).filter((peer) => options.holds[peer]?.includes(n)),
    idle: (peer) => open.has(peer) && !requests.some((r) => r.peer === peer && !r.signal.aborted),
    warmUp: (peers) => warmed.push(...peers),
    loading: (_rendition, n) => (options.loading ?? []).includes(n),
    download: (peer, _rendition, sequence, signal, progress) =>
      new Promise((resolve) => {
        const request: Request = {
          peer,
          sequence,
          signal,
          progress,
          finish: (outcome) => {
            requests.splice(requests.indexOf(request), 1);
            if (outcome instanceof Uint8Array) cache.put('240p', sequence, outcome);
            resolve(outcome);
          },
        };
        requests.push(request);
        signal.addEventListener('abort', () => request.finish({ reason: 'stalled', received: new Uint8Array(0) }), { once: true });
      }),
    onFetched: (_rendition, n, peer) => fetched.push(`${n}@${peer}`),
  });
  const asked = (): string[] => requests.map((r) => `${r.sequence}@${r.peer}`).sort();
  return { prefetch, cache, requests, warmed, fetched, asked, setPlayhead: (s: number) => (playhead = s) };
}

describe('PeerPrefetch', () => {
  it('fetches the window ahead from several holders at once, one transfer per link', async () => {
    const s = swarm({ holds: { a: [2, 3, 4, 5], b: [2, 3, 4, 5], c: [3, 4, 5] } });
    await s.prefetch.tick();
    // Segments 0 and 1 are due within 4 s (the player's own loads); 2, 3, 4 go to three links.
    expect(s.asked()).toEqual(['2@a', '3@b', '4@c']);
    s.prefetch.destroy();
  });

  it('moves on to the next segment as soon as a link comes free, and the player can join a transfer', async () => {
    const s = swarm({ holds: { a: [2, 3, 4] } });
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['2@a']);
    const ahead = s.prefetch.pending('240p', 2);
    expect(ahead?.peer).toBe('a');
    const seen: number[] = [];
    ahead?.onProgress((received) => seen.push(received));
    s.requests[0]?.progress(40);
    s.requests[0]?.finish(segment(2));
    await expect(ahead?.done).resolves.toEqual(segment(2));
    expect(seen).toEqual([40]);
    expect(s.fetched).toEqual(['2@a']);
    await vi.waitFor(() => expect(s.asked()).toEqual(['3@a']));
    expect(s.cache.has('240p', 2)).toBe(true);
    s.prefetch.destroy();
  });

  it("leaves alone what is cached, what the player loads itself, and segments no free link holds (those links are warmed up)", async () => {
    const s = swarm({ holds: { a: [2, 3, 4], b: [5] }, open: ['a'], loading: [3] });
    s.cache.put('240p', 2, segment(2));
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['4@a']);
    expect(s.warmed).toEqual(['b']);
    s.prefetch.destroy();
  });

  it('starts past what the player has buffered', async () => {
    const s = swarm({ holds: { a: [2, 3, 4, 5], b: [2, 3, 4, 5] }, bufferedTo: 6 });
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['3@a', '4@b']);
    s.prefetch.destroy();
  });

  it('drops transfers a seek left behind, and does not retry a failed segment at once', async () => {
    const s = swarm({ holds: { a: [3, 4, 5, 6, 7, 8, 9], b: [3, 4, 5, 6, 7, 8, 9] } });
    await s.prefetch.tick();
    // Nobody holds 2; both links busy with 3 and 4.
    expect(s.asked()).toEqual(['3@a', '4@b']);
    s.requests.find((r) => r.sequence === 3)?.finish({ reason: 'late', received: new Uint8Array(0) });
    // The free link takes 5, not 3 again.
    await vi.waitFor(() => expect(s.asked()).toEqual(['4@b', '5@a']));
    // A seek ahead: the window is now 8-9 (the player loads 6 and 7 itself).
    const left = s.requests.map((r) => r.signal);
    s.setPlayhead(12);
    await s.prefetch.tick();
    expect(left.every((signal) => signal.aborted)).toBe(true);
    expect(s.asked()).toEqual(['8@a', '9@b']);
    s.prefetch.destroy();
  });
});
