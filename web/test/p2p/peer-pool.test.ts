// Lanes between two peer pools over real WebRTC (the @roamhq/wrtc stack, on
// loopback), their signals passed to each other as the tracker relays them:
// the lanes past the first open once the first is up, requests spread over
// them, a peer that takes one connection keeps its first lane, and the
// first lane's close takes the others with it.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { Signal } from '../../src/protocol/Signal';
import { openLanes, PeerPool, quietestLink } from '../../src/p2p/peer-pool';
import { TokenBucket } from '../../src/p2p/rate-limiter';
import { DEFAULT_P2P_CONFIG, type P2PConfig } from '../../src/p2p/types';
import { installNodeWebRtc } from '../support/node-webrtc';
import { until } from '../support/until';

beforeAll(installNodeWebRtc);

const SEGMENT = new Uint8Array(200_000).fill(9);
const pools: PeerPool[] = [];

afterEach(() => {
  for (const pool of pools.splice(0)) pool.closeAll();
});

interface Side {
  pool: PeerPool;
  /** Lanes of the signals this side sent. */
  signalledLanes: number[];
}

/** Two pools, `a` and `b`, whose signals reach each other a little later, as through the tracker. */
function pair(a: Partial<P2PConfig> = {}, b: Partial<P2PConfig> = {}): { a: Side; b: Side } {
  const sides: Record<'a' | 'b', Side> = {} as Record<'a' | 'b', Side>;
  const make = (self: 'a' | 'b', other: 'a' | 'b', overrides: Partial<P2PConfig>): Side => {
    const config = { ...DEFAULT_P2P_CONFIG, connectTimeoutMs: 3_000, ...overrides };
    const side: Side = {
      signalledLanes: [],
      pool: new PeerPool({
        config,
        localId: () => self,
        sendSignal: (rendition, _peer, signal: Signal, lane) => {
          side.signalledLanes.push(lane);
          setTimeout(() => sides[other].pool.signalled(rendition, self, signal, lane), 5);
        },
        provide: () => SEGMENT,
        uploadBucket: new TokenBucket(0),
        onUploaded: () => {},
        onBanned: () => {},
      }),
    };
    pools.push(side.pool);
    return side;
  };
  sides.a = make('a', 'b', a);
  sides.b = make('b', 'a', b);
  return sides;
}

const lanesOf = (side: Side, peer: string): number => side.pool.stats().find((p) => p.id === peer)?.lanes ?? 0;

describe('lanes to a peer', () => {
  it('open beside the first once it is up, on both sides, and carry requests side by side', async () => {
    const { a, b } = pair();
    const entry = await a.pool.connect('b', '480p', 5_000);
    expect(lanesOf(a, 'b'), 'connecting alone (a warm-up) opens no more lanes').toBe(1);
    a.pool.widen('b');
    await until(() => lanesOf(a, 'b') === 3 && lanesOf(b, 'a') === 3, 8_000);
    expect(new Set(a.signalledLanes)).toEqual(new Set([0, 1, 2]));

    // Three requests at once go out over three different lanes.
    const links = [0, 1, 2].map((sequence) => {
      const link = quietestLink(entry);
      link.request({ rendition: '480p', sequence }, SEGMENT.length);
      return link;
    });
    expect(new Set(links).size).toBe(3);
    const results = await Promise.all(links.map((link) => link.downloads[0]?.result));
    for (const bytes of results) expect(bytes?.length).toBe(SEGMENT.length);
    expect(entry.downloadedBytes).toBe(3 * SEGMENT.length);
    expect(a.pool.hasFreeLane('b')).toBe(true);
  }, 20_000);

  it('stay at the first with a peer that takes one connection, which carries on', async () => {
    const { a, b } = pair({ connectTimeoutMs: 1_500 }, { peerLanes: 1 });
    const entry = await a.pool.connect('b', '480p', 5_000);
    a.pool.widen('b');
    expect(entry.more.size, 'one lane offered at a time').toBe(1);
    await until(() => entry.more.size === 0, 5_000);
    expect(lanesOf(a, 'b')).toBe(1);
    expect(lanesOf(b, 'a')).toBe(1);

    // Widening again (the next download) offers no lane while paused.
    const offeredBefore = a.signalledLanes.filter((lane) => lane > 0).length;
    expect(offeredBefore).toBeGreaterThan(0);
    a.pool.widen('b');
    expect(entry.more.size).toBe(0);
    expect(a.signalledLanes.filter((lane) => lane > 0).length).toBe(offeredBefore);
    const download = quietestLink(entry).request({ rendition: '480p', sequence: 7 }, SEGMENT.length);
    expect((await download.result).length).toBe(SEGMENT.length);
    expect(a.pool.isOpen('b')).toBe(true);
  }, 20_000);

  it('close with the first, and one closing alone leaves the peer linked', async () => {
    const { a, b } = pair();
    const entry = await a.pool.connect('b', '480p', 5_000);
    a.pool.widen('b');
    await until(() => lanesOf(a, 'b') === 3 && lanesOf(b, 'a') === 3, 8_000);
    const theirs = b.pool.get('a')?.more.get(2);
    entry.more.get(2)?.connection.close();
    await until(() => !entry.more.has(2), 8_000);
    expect(a.pool.isOpen('b')).toBe(true);
    expect(openLanes(entry)).toHaveLength(2);
    // The other side lets go of its end of that lane too, connection and all.
    await until(() => b.pool.get('a')?.more.has(2) === false, 8_000);
    expect(theirs?.connection.closed).toBe(true);
    expect(b.pool.isOpen('a')).toBe(true);

    const one = entry.more.get(1);
    entry.first.connection.close();
    await until(() => a.pool.get('b') === undefined, 8_000);
    expect(one?.link.closed).toBe(true);
  }, 20_000);

  it('past the first are not answered before the first is open', async () => {
    const { b } = pair();
    // A first lane offered to b whose answer goes nowhere: it stays connecting.
    const stranger = new RTCPeerConnection();
    stranger.createDataChannel('cinemesh', { negotiated: true, id: 0 });
    await stranger.setLocalDescription();
    const offer = { kind: 'offer' as const, sdp: stranger.localDescription?.sdp ?? '' };
    b.pool.signalled('480p', 'a', offer, 0);
    expect(b.pool.get('a')).toBeDefined();
    b.pool.signalled('480p', 'a', offer, 1);
    expect(b.pool.get('a')?.more.size).toBe(0);
    stranger.close();
  });
});
