import { describe, expect, it } from 'vitest';

import { SegmentCache } from '../../src/p2p/segment-cache';

const bytes = (n: number): Uint8Array => new Uint8Array(n);

function recordingCache(capacityBytes: number) {
  const events: string[] = [];
  const cache = new SegmentCache({
    capacityBytes,
    onAdded: (r, s) => events.push(`+${r}/${s}`),
    onDropped: (r, s) => events.push(`-${r}/${s}`),
  });
  return { cache, events };
}

describe('SegmentCache', () => {
  it('evicts the least recently used segment when over capacity', () => {
    const { cache, events } = recordingCache(300);
    cache.put('720p', 1, bytes(100));
    cache.put('720p', 2, bytes(100));
    cache.put('720p', 3, bytes(100));
    cache.get('720p', 1); // 2 is now the least recently used
    cache.put('720p', 4, bytes(100));
    expect(cache.holdings('720p')).toEqual([1, 3, 4]);
    expect(events).toEqual(['+720p/1', '+720p/2', '+720p/3', '+720p/4', '-720p/2']);
    expect(cache.sizeBytes).toBe(300);
  });

  it('never evicts the pinned window around the playhead', () => {
    const { cache } = recordingCache(200);
    cache.pinWindow(10, 12);
    for (const sequence of [10, 11, 12, 20, 21]) cache.put('720p', sequence, bytes(100));
    expect(cache.holdings('720p')).toEqual([10, 11, 12, 20, 21]);
    cache.put('720p', 22, bytes(100));
    expect(cache.holdings('720p')).toEqual([10, 11, 12, 21, 22]);
    // The playhead moves on: the old window is ordinary now, and the oldest of
    // it goes until the unpinned bytes fit the capacity again.
    cache.pinWindow(20, 22);
    expect(cache.holdings('720p')).toEqual([11, 12, 21, 22]);
  });

  it('replacing a segment neither reports it twice nor counts its bytes twice', () => {
    const { cache, events } = recordingCache(1000);
    cache.put('360p', 5, bytes(100));
    cache.put('360p', 5, bytes(150));
    expect(events).toEqual(['+360p/5']);
    expect(cache.sizeBytes).toBe(150);
  });

  it('keeps renditions apart', () => {
    const { cache } = recordingCache(1000);
    cache.put('720p', 1, bytes(10));
    cache.put('360p', 2, bytes(10));
    expect(cache.holdings('720p')).toEqual([1]);
    expect(cache.has('360p', 1)).toBe(false);
    expect(cache.get('360p', 2)?.length).toBe(10);
  });
});
