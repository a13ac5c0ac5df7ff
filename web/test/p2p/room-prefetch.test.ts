import { afterEach, describe, expect, it, vi } from 'vitest';

import { RoomPrefetch } from '../../src/p2p/room-prefetch';
import { SegmentCache } from '../../src/p2p/segment-cache';
import { index, segment } from './ten-segments';

/** A server whose answers the test releases one by one (an aborted request is rejected, as fetch does). */
function server() {
  const requested: string[] = [];
  const waiting = new Map<string, { whole: (body: Uint8Array) => void; stalled: (head: Uint8Array) => void }>();
  vi.stubGlobal('fetch', (url: string, init?: RequestInit) => {
    requested.push(url);
    return new Promise((resolve, reject) => {
      const aborted = (): DOMException => new DOMException('aborted', 'AbortError');
      init?.signal?.addEventListener('abort', () => reject(aborted()));
      waiting.set(url, {
        whole: (body) => resolve(new Response(body.slice().buffer)),
        // Headers and the first bytes, then nothing, as over a connection that died.
        stalled: (head) =>
          resolve(
            new Response(
              new ReadableStream<Uint8Array>({
                start(controller) {
                  controller.enqueue(head.slice());
                  init?.signal?.addEventListener('abort', () => controller.error(aborted()));
                },
              }),
            ),
          ),
      });
    });
  });
  const answer = (n: number, body = segment(n)): void => {
    waiting.get(`/seg/${n}`)?.whole(body);
  };
  const stall = (n: number): void => {
    waiting.get(`/seg/${n}`)?.stalled(segment(n).subarray(0, 10));
  };
  return { requested, answer, stall };
}

function prefetch(options: {
  mine: (n: number) => boolean;
  held?: number[];
  playhead?: number;
  bufferedTo?: number;
  silenceMs?: number;
  /** Segments the player is loading itself. */
  playerLoads?: number[];
}) {
  const cache = new SegmentCache({ capacityBytes: 10_000, onAdded: () => {}, onDropped: () => {} });
  const fetched: number[] = [];
  const partial = { bytes: 0 };
  const room = new RoomPrefetch({
    index,
    cache,
    rendition: () => '240p',
    playhead: () => options.playhead ?? 0,
    // The player holds the second it plays, unless told otherwise.
    bufferedTo: () => options.bufferedTo ?? (options.playhead ?? 0) + 0.1,
    aheadSecs: () => 8,
    mine: options.mine,
    urlOf: (_rendition, n) => `/seg/${n}`,
    heldByPeers: async (_rendition, n) => (options.held ?? []).includes(n),
    onFetched: (_rendition, n) => fetched.push(n),
    onPartial: (_rendition, bytes) => (partial.bytes += bytes),
    loading: (_rendition, n) => (options.playerLoads ?? []).includes(n),
    ...(options.silenceMs === undefined ? {} : { silenceMs: options.silenceMs }),
  });
  return { room, cache, fetched, partial };
}

/** Waits (up to vitest's default 1 s) until `check` passes: hashing runs off the event loop. */
const eventually = (check: () => void): Promise<void> => vi.waitFor(check);

afterEach(() => vi.unstubAllGlobals());

describe('RoomPrefetch', () => {
  it('fetches its own planned segments of the window ahead, nearest first, one at a time', async () => {
    const http = server();
    // The other members fetched 0 and 2 (2 before this member's 4, the room fetches in order).
    const { room, cache, fetched } = prefetch({ mine: (n) => n % 3 === 1, held: [0, 2] });
    room.setEnabled(true);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/1']));
    http.answer(1);
    await eventually(() => expect(http.requested).toEqual(['/seg/1', '/seg/4']));
    http.answer(4);
    await eventually(() => expect(fetched).toEqual([1, 4]));
    // 8 s ahead of 0 s reaches segment 4: nothing more to fetch.
    room.tick();
    expect(http.requested).toEqual(['/seg/1', '/seg/4']);
    expect(cache.holdings('240p')).toEqual([1, 4]);
    room.destroy();
  });

  it("fetches nothing ahead before the player's first load is done, and goes on after a seek", async () => {
    const http = server();
    const player = { playhead: 0, bufferedTo: 0 };
    const { room } = prefetch({
      mine: (n) => n === 1 || n === 8,
      get playhead() {
        return player.playhead;
      },
      get bufferedTo() {
        return player.bufferedTo;
      },
    });
    room.setEnabled(true);
    room.tick();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(http.requested, "every member's first load has the origin to itself").toEqual([]);
    player.bufferedTo = 1.5;
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/1']));
    // A seek to 14 s: nothing buffered there, and the fetches ahead go on (the room waits for them).
    Object.assign(player, { playhead: 14, bufferedTo: 14 });
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/1', '/seg/8']));
    room.destroy();
  });

  it('waits for the room to hold the window before its segment but the one just before', async () => {
    const http = server();
    const held = [0];
    const { room } = prefetch({ mine: (n) => n === 3, held });
    room.setEnabled(true);
    room.tick();
    // 1 is fetched by someone else and not held yet: 3 would share the origin with it and 2.
    await new Promise((resolve) => setTimeout(resolve, 100));
    room.tick();
    expect(http.requested).toEqual([]);
    held.push(1);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/3']));
    room.destroy();
  });

  it('leaves alone what a peer already holds, and keeps nothing that fails its hash', async () => {
    const http = server();
    const { room, cache } = prefetch({ mine: () => true, held: [0, 1] });
    room.setEnabled(true);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/2']));
    http.answer(2, segment(99));
    await eventually(() => expect(http.requested.at(-1)).toBe('/seg/3'));
    expect(cache.holdings('240p')).toEqual([]);
    room.destroy();
  });

  it('serves the player from the fetch under way, and fetches an asked-for segment beside the one ahead', async () => {
    const http = server();
    const { room } = prefetch({ mine: (n) => n % 2 === 0 });
    room.setEnabled(true);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/0']));
    const player = new AbortController();
    const same = room.fetchNow('240p', 0, player.signal);
    const beside = room.fetchNow('240p', 8, player.signal);
    await eventually(() => expect(http.requested).toEqual(['/seg/0', '/seg/8']));
    http.answer(0);
    http.answer(8);
    expect(await same).toEqual(segment(0));
    expect(await beside).toEqual(segment(8));
    room.destroy();
  });

  it('gives up an asked-for fetch when the player does', async () => {
    const http = server();
    const { room, cache } = prefetch({ mine: () => false });
    room.setEnabled(true);
    const player = new AbortController();
    const asked = room.fetchNow('240p', 3, player.signal);
    await eventually(() => expect(http.requested).toEqual(['/seg/3']));
    player.abort();
    expect(await asked).toBeUndefined();
    http.answer(3);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cache.holdings('240p')).toEqual([]);
    room.destroy();
  });

  it('starts two segments short of the end of what the player holds, where other members may still be', async () => {
    const http = server();
    // The player holds 0-10 s (segments 0-4, in the rendition it loaded
    // before): a switch of rendition does not fetch the first seconds again,
    // but the two segments before its buffer's end may be others' next.
    const { room } = prefetch({ mine: () => true, bufferedTo: 10 });
    room.setEnabled(true);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/3']));
    room.destroy();
  });

  it('does nothing until the room plans with this member, and drops fetches a seek left behind', async () => {
    const http = server();
    const state = { playhead: 0 };
    const cache = new SegmentCache({ capacityBytes: 10_000, onAdded: () => {}, onDropped: () => {} });
    const room = new RoomPrefetch({
      index,
      cache,
      rendition: () => '240p',
      playhead: () => state.playhead,
      bufferedTo: () => state.playhead + 0.1,
      aheadSecs: () => 2,
      mine: () => true,
      urlOf: (_rendition, n) => `/seg/${n}`,
      heldByPeers: async () => false,
      onFetched: () => {},
      loading: () => false,
    });
    room.tick();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(http.requested).toEqual([]);
    room.setEnabled(true);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/0']));
    state.playhead = 14;
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/0', '/seg/7']));
    http.answer(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(cache.holdings('240p')).toEqual([]);
    room.destroy();
  });

  it('switched off, drops its fetches ahead but not the one the player waits for', async () => {
    const http = server();
    const { room, cache } = prefetch({ mine: () => true });
    room.setEnabled(true);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/0']));
    const asked = room.fetchNow('240p', 1, new AbortController().signal);
    await eventually(() => expect(http.requested).toEqual(['/seg/0', '/seg/1']));
    room.setEnabled(false);
    expect(room.fetching('240p', 0)).toBe(false);
    expect(room.fetching('240p', 1)).toBe(true);
    http.answer(1);
    expect(await asked).toEqual(segment(1));
    expect(cache.holdings('240p')).toEqual([1]);
    room.destroy();
  });

  it('gives up a fetch whose body stops coming, tells the player at once, and fetches it again', async () => {
    const http = server();
    const { room, cache, partial } = prefetch({ mine: (n) => n === 0, silenceMs: 200 });
    room.setEnabled(true);
    const asked = room.fetchNow('240p', 0, new AbortController().signal);
    await eventually(() => expect(http.requested).toEqual(['/seg/0']));
    http.stall(0);
    expect(await asked, 'the player loads it itself').toBeUndefined();
    expect(room.silentLoads).toBe(1);
    expect(partial.bytes, 'the bytes that came before the silence are counted').toBe(10);
    expect(room.fetching('240p', 0)).toBe(false);
    // Tried again once the pause after a failure is over (the player holds its first second).
    await vi.waitFor(
      () => {
        room.tick();
        expect(http.requested).toEqual(['/seg/0', '/seg/0']);
      },
      { timeout: 8_000, interval: 100 },
    );
    http.answer(0);
    await eventually(() => expect(cache.holdings('240p')).toEqual([0]));
    expect(room.silentLoads).toBe(1);
    room.destroy();
  });

  it('gives up a fetch that gets no answer at all', async () => {
    server();
    const { room } = prefetch({ mine: () => true, silenceMs: 200 });
    room.setEnabled(true);
    expect(await room.fetchNow('240p', 2, new AbortController().signal)).toBeUndefined();
    expect(room.silentLoads).toBe(1);
    room.destroy();
  });

  it('stops reading a body longer than the catalog says', async () => {
    // An origin that never stops sending: only the size limit ends the fetch.
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        pulled += 1;
        controller.enqueue(new Uint8Array(64));
      },
    });
    vi.stubGlobal('fetch', async () => new Response(endless));
    const { room, cache } = prefetch({ mine: () => true });
    room.setEnabled(true);
    expect(await room.fetchNow('240p', 3, new AbortController().signal)).toBeUndefined();
    expect(pulled * 64, 'read about the segment, and the few chunks the stream queued ahead').toBeLessThanOrEqual(segment(3).length + 4 * 64);
    expect(cache.holdings('240p')).toEqual([]);
    room.destroy();
  });

  it('leaves a planned segment alone while the player loads it itself', async () => {
    const http = server();
    const { room } = prefetch({ mine: () => true, playerLoads: [0] });
    room.setEnabled(true);
    room.tick();
    await eventually(() => expect(http.requested).toEqual(['/seg/1']));
    room.destroy();
  });
});
