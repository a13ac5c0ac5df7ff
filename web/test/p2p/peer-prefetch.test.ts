import { describe, expect, it, vi } from 'vitest';

import type { GivenUp } from '../../src/p2p/deadline-download';
import { PeerPrefetch } from '../../src/p2p/peer-prefetch';
import { SegmentCache } from '../../src/p2p/segment-cache';
import { index, segment } from './ten-segments';

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
function swarm(options: {
  holds: Record<string, number[]>;
  open?: string[];
  /** Lanes open to a peer (1 when not named). */
  lanes?: Record<string, number>;
  loading?: number[];
  playhead?: number;
  buffered?: number;
}) {
  const cache = new SegmentCache({ capacityBytes: 10_000, onAdded: () => {}, onDropped: () => {} });
  const requests: Request[] = [];
  const warmed: string[] = [];
  const fetched: string[] = [];
  const open = new Set(options.open ?? Object.keys(options.holds));
  const lanesTo = (peer: string): number => options.lanes?.[peer] ?? 1;
  let playhead = options.playhead ?? 0;
  let buffered = options.buffered ?? 8;
  const prefetch = new PeerPrefetch({
    index,
    cache,
    rendition: () => '240p',
    playhead: () => playhead,
    bufferedTo: () => playhead + buffered,
    aheadSecs: () => 16,
    minLeadSecs: () => 4,
    holdersOf: async (_rendition, n) => Object.keys(options.holds).filter((peer) => options.holds[peer]?.includes(n)),
    idle: (peer) => open.has(peer) && requests.filter((r) => r.peer === peer && !r.signal.aborted).length < lanesTo(peer),
    lanes: (peer) => (open.has(peer) ? lanesTo(peer) : 0),
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
  const seek = (to: number, holding: number): void => {
    playhead = to;
    buffered = holding;
  };
  return { prefetch, cache, requests, warmed, fetched, asked, seek };
}

describe('PeerPrefetch', () => {
  // The player is at 0 s with 8 s buffered (segments 0-3): the window is 4-8.
  it('fetches the window ahead from several holders at once, one transfer per link', async () => {
    const s = swarm({ holds: { a: [4, 5, 6, 7, 8], b: [4, 5, 6, 7, 8], c: [5, 6, 7, 8] } });
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['4@a', '5@b', '6@c']);
    s.prefetch.destroy();
  });

  it('puts one transfer ahead on each lane to a holder, and no more', async () => {
    const s = swarm({ holds: { a: [4, 5, 6, 7, 8], b: [4, 5, 6, 7, 8] }, lanes: { a: 2 } });
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['4@a', '5@a', '6@b']);
    s.prefetch.destroy();
  });

  it('moves on to the next segment as soon as a link comes free, and the player can join a transfer', async () => {
    const s = swarm({ holds: { a: [4, 5, 6] } });
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['4@a']);
    const ahead = s.prefetch.join('240p', 4);
    expect(ahead?.peer).toBe('a');
    const seen: number[] = [];
    ahead?.onProgress((received) => seen.push(received));
    s.requests[0]?.progress(40);
    s.requests[0]?.finish(segment(4));
    await expect(ahead?.done).resolves.toEqual(segment(4));
    expect(seen).toEqual([40]);
    expect(s.fetched).toEqual(['4@a']);
    await vi.waitFor(() => expect(s.asked()).toEqual(['5@a']));
    expect(s.cache.has('240p', 4)).toBe(true);
    s.prefetch.destroy();
  });

  it('leaves alone what is cached, what the player loads itself, and segments no free link holds (those links are warmed up)', async () => {
    const s = swarm({ holds: { a: [4, 5, 6], b: [7] }, open: ['a'], loading: [5] });
    s.cache.put('240p', 4, segment(4));
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['6@a']);
    expect(s.warmed).toEqual(['b']);
    s.prefetch.destroy();
  });

  it('starts past what the player has buffered, and not before it holds 8 s', async () => {
    const s = swarm({ holds: { a: [4, 5, 6, 7], b: [4, 5, 6, 7] }, buffered: 6 });
    await s.prefetch.tick();
    expect(s.asked()).toEqual([]);
    s.seek(0, 10);
    await s.prefetch.tick();
    expect(s.asked()).toEqual(['5@a', '6@b']);
    s.prefetch.destroy();
  });

  it('drops transfers a seek left behind, but not one the player waits for, and does not retry a failed segment at once', async () => {
    const s = swarm({ holds: { a: [5, 6, 7, 8, 9], b: [5, 6, 7, 8, 9] } });
    await s.prefetch.tick();
    // Nobody holds 4; both links busy with 5 and 6.
    expect(s.asked()).toEqual(['5@a', '6@b']);
    s.requests.find((r) => r.sequence === 5)?.finish({ reason: 'late', received: new Uint8Array(0) });
    // The free link takes 7, not 5 again.
    await vi.waitFor(() => expect(s.asked()).toEqual(['6@b', '7@a']));
    // The player waits for 7: a seek does not drop that one.
    s.prefetch.join('240p', 7);
    const left = s.requests.map((r) => ({ sequence: r.sequence, signal: r.signal }));
    // A seek to 10 s, with 8 s buffered there already: the window is segment 9.
    s.seek(10, 8);
    await s.prefetch.tick();
    expect(left.filter((r) => r.signal.aborted).map((r) => r.sequence)).toEqual([6]);
    expect(s.asked()).toEqual(['7@a', '9@b']);
    s.prefetch.destroy();
  });
});
