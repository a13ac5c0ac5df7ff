import { describe, expect, it } from 'vitest';

import { HolderLookup } from '../../src/p2p/holder-lookup';
import type { Holder } from '../../src/protocol/Holder';

/** A tracker whose answers (by rendition) the test changes as it goes; counts the questions. */
function tracker(initial: Record<string, Holder[]> = {}): {
  lookup: HolderLookup;
  set: (rendition: string, holders: Holder[]) => void;
  asked: () => number;
} {
  const swarms = new Map(Object.entries(initial));
  let asked = 0;
  const lookup = new HolderLookup({
    whoHas: async (rendition, from, count) => {
      asked += 1;
      return (swarms.get(rendition) ?? [])
        .map((h) => ({ peer: h.peer, holds: h.holds.filter(([a, b]) => b >= from && a < from + count) }))
        .filter((h) => h.holds.length > 0);
    },
    usable: (peer) => peer !== 'banned',
    score: (peer) => (peer === 'fast' ? 2 : 1),
  });
  return { lookup, set: (rendition, holders) => swarms.set(rendition, holders), asked: () => asked };
}

const never = new AbortController().signal;

describe('holder lookup', () => {
  it('counts as in step the holders of the segment played now that hold nothing far past our window', async () => {
    const { lookup } = tracker({
      '240p': [
        // Plays where we play: holds 10 (now) to 19 (we hold up to 15; our window ends at 18).
        { peer: 'beside', holds: [[8, 19]] },
        // 10 s ahead: holds 10 and on to 24.
        { peer: 'ahead', holds: [[10, 24]] },
        // Behind: does not hold 10 yet.
        { peer: 'behind', holds: [[4, 9]] },
        // 8 s behind: holds 10, but only up to 11 while we hold up to 15.
        { peer: 'lagging', holds: [[6, 11]] },
        { peer: 'banned', holds: [[10, 12]] },
      ],
    });
    expect((await lookup.inStep('240p', 10, 15, 18, 3)).sort()).toEqual(['beside']);
  });

  it('names the usable holders of a segment, best first', async () => {
    const { lookup } = tracker({
      '240p': [
        { peer: 'slow', holds: [[0, 9]] },
        { peer: 'fast', holds: [[3, 5]] },
        { peer: 'banned', holds: [[0, 9]] },
      ],
    });
    expect(await lookup.holdersOf('240p', 4)).toEqual(['fast', 'slow']);
    expect(await lookup.holdersOf('240p', 7)).toEqual(['slow']);
  });

  it('does not wait when nobody in the swarm holds anything and no fetcher is linked', async () => {
    const { lookup, asked } = tracker();
    const started = performance.now();
    expect(await lookup.awaitHolders('240p', 0, never, 2_000, () => true)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(150);
    expect(asked()).toBe(1);
  });

  it('waits for the linked fetcher at the start, although nobody holds anything yet', async () => {
    const { lookup, set } = tracker();
    setTimeout(() => set('240p', [{ peer: 'fetcher', holds: [[0, 0]] }]), 300);
    const started = performance.now();
    expect(await lookup.awaitHolders('240p', 0, never, 2_000, () => true, true)).toEqual(['fetcher']);
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(1_500);
  });

  it('gives up on the fetcher after the longest wait, or as soon as waiting is no longer worth it', async () => {
    const { lookup } = tracker();
    let started = performance.now();
    expect(await lookup.awaitHolders('240p', 0, never, 500, () => true, true)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(900);
    let worth = true;
    setTimeout(() => (worth = false), 250);
    started = performance.now();
    expect(await lookup.awaitHolders('240p', 0, never, 5_000, () => worth, true)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
