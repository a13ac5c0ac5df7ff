import { describe, expect, it } from 'vitest';

import { DEFAULT_ABANDON, type SourceInput, chooseSource, roomFetcherWait, shouldAbandon, startsInitialChunk } from '../../src/p2p/source-choice';

const later: SourceInput = {
  p2pEnabled: true,
  inInitialChunk: false,
  secondsUntilNeeded: 20,
  segmentBytes: 650_000,
  holders: 2,
  peerBytesPerSecond: 3_000_000,
};

describe('chooseSource', () => {
  it('takes later segments from peers', () => {
    expect(chooseSource(later)).toEqual({ source: 'peer' });
  });

  it.each([
    ['p2p_off', { p2pEnabled: false }],
    ['initial_chunk', { inInitialChunk: true }],
    ['due_soon', { secondsUntilNeeded: 3 }],
    ['no_holder', { holders: 0 }],
    ['peer_too_slow', { peerBytesPerSecond: 50_000 }],
  ] as const)('uses HTTP for %s', (reason, change) => {
    expect(chooseSource({ ...later, ...change })).toEqual({ source: 'http', reason });
  });

  it("takes the room's planned segment from a peer that already holds it, and fetches it only when nobody does", () => {
    expect(chooseSource({ ...later, fetchesForRoom: true })).toEqual({ source: 'peer' });
    expect(chooseSource({ ...later, fetchesForRoom: true, holders: 0 })).toEqual({ source: 'http', reason: 'assigned' });
  });

  it('assumes a modest rate for holders never measured', () => {
    expect(chooseSource({ ...later, peerBytesPerSecond: undefined })).toEqual({ source: 'peer' });
    expect(chooseSource({ ...later, peerBytesPerSecond: undefined, segmentBytes: 30_000_000 }).source).toBe('http');
  });
});

describe('shouldAbandon', () => {
  const healthy = { segmentBytes: 600_000, bytesReceived: 300_000, secondsElapsed: 0.5, secondsSinceProgress: 0.05, secondsUntilNeeded: 10 };

  it('keeps a transfer that will finish in time', () => {
    expect(shouldAbandon(healthy)).toBeUndefined();
  });

  it('gives up on a peer silent for 1.5 s, whatever the time left', () => {
    expect(shouldAbandon({ ...healthy, secondsElapsed: 1.5, secondsSinceProgress: 1 })).toBeUndefined();
    expect(shouldAbandon({ ...healthy, secondsElapsed: 2.5, secondsSinceProgress: 2 })).toBe('stalled');
    expect(shouldAbandon({ ...healthy, bytesReceived: 0, secondsElapsed: 2, secondsSinceProgress: 2 }), 'one that never started').toBe('no_first_byte');
  });

  it('gives up when the projected arrival leaves no time for HTTP', () => {
    expect(shouldAbandon({ ...healthy, bytesReceived: 30_000, secondsElapsed: 3 })).toBe('late');
    const waiting = { ...healthy, bytesReceived: 0, secondsElapsed: 1, secondsSinceProgress: 1 };
    // Before the first byte: 600 kB at the assumed 125 kB/s take 4.8 s.
    expect(shouldAbandon(waiting), '4.8 s fit in the 7 s before HTTP must start').toBeUndefined();
    expect(shouldAbandon({ ...waiting, secondsUntilNeeded: 7.5 }), '4.8 s do not fit in 4.5 s').toBe('no_first_byte');
  });

  describe('a transfer the player waits on (no reserve kept for HTTP)', () => {
    const urgent = { ...DEFAULT_ABANDON, httpReserveSecs: Number.NEGATIVE_INFINITY, stallSecs: 1 };
    // 145 kB, 1 s in, 37 kB come (0.3 Mbit/s): 2.9 s more, where HTTP at 140 kB/s takes 0.5 + 0.8 s.
    const crawling = { segmentBytes: 145_000, bytesReceived: 37_000, secondsElapsed: 1, secondsSinceProgress: 0.1, secondsUntilNeeded: 0.5 };

    it('is kept while it moves when HTTP is not known to be faster', () => {
      expect(shouldAbandon(crawling, urgent)).toBeUndefined();
      expect(shouldAbandon(crawling, { ...urgent, httpBytesPerSec: 40_000 }), 'HTTP about as slow').toBeUndefined();
    });

    it('is given up when it crawls and HTTP would clearly bring the rest sooner', () => {
      expect(shouldAbandon(crawling, { ...urgent, httpBytesPerSec: 140_000 })).toBe('late');
    });

    it('is kept when it will still be in time, or too young to judge', () => {
      const withHttp = { ...urgent, httpBytesPerSec: 140_000 };
      expect(shouldAbandon({ ...crawling, secondsUntilNeeded: 4 }, withHttp), 'done before the player needs it').toBeUndefined();
      expect(shouldAbandon({ ...crawling, secondsElapsed: 0.5, bytesReceived: 10_000 }, withHttp), 'its first half second').toBeUndefined();
    });
  });
});

describe('startsInitialChunk', () => {
  it('starts a window at the first start and after a jump either way', () => {
    expect(startsInitialChunk(undefined, 0, 6)).toBe(true);
    expect(startsInitialChunk(10, 50, 6)).toBe(true);
    expect(startsInitialChunk(50, 30, 6)).toBe(true);
  });

  it("keeps the window through the room's corrections and a restart after a stall", () => {
    // The sync controller arms a little ahead of the room, and re-arms after a stall.
    expect(startsInitialChunk(12.0, 12.8, 6)).toBe(false);
    expect(startsInitialChunk(30.0, 28.5, 6)).toBe(false);
    expect(startsInitialChunk(30.0, 36.0, 6)).toBe(false);
  });
});

describe('roomFetcherWait', () => {
  const quiet = { fetchersSilent: false };

  it("goes straight to HTTP for the player's first load while no fetcher is linked (the room's start)", () => {
    expect(roomFetcherWait({ ...quiet, early: false, fetcherLinked: false, playerHoldsData: false })).toBe('no');
  });

  it('waits briefly for a segment needed now once a fetcher is linked or the player holds data', () => {
    // After a seek the links to the fetchers are open; at the start the second segment waits while they come up.
    expect(roomFetcherWait({ ...quiet, early: false, fetcherLinked: true, playerHoldsData: false })).toBe('briefly');
    expect(roomFetcherWait({ ...quiet, early: false, fetcherLinked: false, playerHoldsData: true })).toBe('briefly');
  });

  it('waits while there is time for a segment not needed yet', () => {
    expect(roomFetcherWait({ ...quiet, early: true, fetcherLinked: false, playerHoldsData: false })).toBe('while_in_time');
  });

  it('does not wait when every linked fetcher went silent on its last transfers', () => {
    expect(roomFetcherWait({ early: true, fetcherLinked: false, fetchersSilent: true, playerHoldsData: true })).toBe('no');
    expect(roomFetcherWait({ early: false, fetcherLinked: false, fetchersSilent: true, playerHoldsData: true })).toBe('no');
  });
});
