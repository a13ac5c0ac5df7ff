import { describe, expect, it, vi } from 'vitest';

import { PLANNED_URGENT_WAIT_MS, PLANNED_WAIT_MS, RoomPlan, type RoomPlanHooks } from '../../src/p2p/room-plan';

interface Waited {
  waitMs: number;
  fetcherHere: boolean;
  worthWaiting: boolean;
}

/** A plan over a fake pool: `open` peers are linked, `silent` ones went quiet, `banned` ones may not be used. */
function planWith(state: {
  open?: string[];
  silent?: string[];
  banned?: string[];
  linking?: string[];
  holdsData?: boolean;
  me?: string;
  /** What a wait finds (default: `f1`), and after how many ms (default: at once). */
  found?: string[];
  foundAfterMs?: number;
}) {
  const connected: string[] = [];
  const waits: Waited[] = [];
  const hooks: RoomPlanHooks = {
    me: () => state.me ?? 'me',
    isOpen: (peer) => state.open?.includes(peer) ?? false,
    usable: (peer) => !(state.banned?.includes(peer) ?? false),
    linkedOrLinking: (peer) => (state.open?.includes(peer) ?? false) || (state.linking?.includes(peer) ?? false),
    connect: (peer, rendition) => connected.push(`${rendition} ${peer}`),
    silent: (peer) => state.silent?.includes(peer) ?? false,
    awaitHolders: (_rendition, _sequence, _signal, waitMs, worthWaiting, fetcherHere) => {
      waits.push({ waitMs, fetcherHere, worthWaiting: worthWaiting() });
      const found = state.found ?? ['f1'];
      return new Promise((resolve) => setTimeout(() => resolve(found), state.foundAfterMs ?? 0));
    },
    playerHoldsData: () => state.holdsData ?? true,
    httpDeadlineSecs: () => 2,
  };
  return { plan: new RoomPlan(hooks), connected, waits };
}

const signal = new AbortController().signal;

describe("a member's side of the room's fetch plan", () => {
  it('names the fetcher of each segment from the slots, and none without a plan', () => {
    const { plan } = planWith({});
    expect(plan.fetcherOf(0)).toBeUndefined();
    expect(plan.active).toBe(false);
    plan.set(['a', 'me', 'b'], 'me', ['pa', 'pme', 'pb']);
    expect([0, 1, 2, 3, 4].map((n) => plan.fetcherOf(n))).toEqual(['other', 'me', 'other', 'other', 'me']);
    expect(plan.fetchesForRoom).toBe(true);
    plan.set(['a', 'b'], 'me', ['pa', 'pb']);
    expect(plan.fetchesForRoom).toBe(false);
    plan.set([], 'me', []);
    expect(plan.active).toBe(false);
  });

  it('links to each fetcher once per rendition, never to itself, a banned peer or one already linked', () => {
    const { plan, connected } = planWith({ me: 'pme', banned: ['pbad'], linking: ['pold'] });
    plan.set(['a', 'me', 'b', 'c', 'd'], 'me', ['pa', 'pme', 'pbad', 'pold', 'pd']);
    plan.linkToFetchers('240p');
    plan.linkToFetchers('240p');
    expect(connected).toEqual(['240p pa', '240p pd']);
    plan.linkToFetchers('360p');
    expect(connected).toEqual(['240p pa', '240p pd', '360p pa', '360p pd']);
  });

  it('links to nobody before this page has a tracker id', () => {
    const { plan, connected } = planWith({ me: '' });
    plan.set(['a'], 'me', ['pa']);
    plan.linkToFetchers('240p');
    expect(connected).toEqual([]);
  });

  it('waits for a linked fetcher while there is time, and says whether it fetches this rendition', async () => {
    const { plan, waits } = planWith({ open: ['pa'] });
    plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    plan.rendition = '240p';
    expect(await plan.awaitFetcher('240p', 0, true, () => 10, signal)).toEqual(['f1']);
    await plan.awaitFetcher('360p', 0, true, () => 2.1, signal);
    expect(waits).toEqual([
      { waitMs: PLANNED_WAIT_MS, fetcherHere: true, worthWaiting: true },
      { waitMs: PLANNED_WAIT_MS, fetcherHere: false, worthWaiting: false },
    ]);
  });

  it('waits briefly for a segment needed now, and not at all when every linked fetcher went silent', async () => {
    const quiet = planWith({ open: ['pa'], silent: ['pa'] });
    quiet.plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    expect(await quiet.plan.awaitFetcher('240p', 0, true, () => 10, signal)).toEqual([]);
    expect(quiet.waits).toEqual([]);

    const needed = planWith({ open: ['pa'] });
    needed.plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    await needed.plan.awaitFetcher('240p', 0, false, () => 0.5, signal);
    expect(needed.waits).toEqual([{ waitMs: PLANNED_URGENT_WAIT_MS, fetcherHere: false, worthWaiting: true }]);
  });

  it("does not hold up the player's first load while no fetcher is linked", async () => {
    const { plan, waits } = planWith({ holdsData: false });
    plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    expect(await plan.awaitFetcher('240p', 0, false, () => 0, signal)).toEqual([]);
    expect(waits).toEqual([]);
  });

  it('counts how each wait ended, so that a benchmark can tell which sends a planned segment to HTTP again', async () => {
    const linked = planWith({ open: ['pa'] });
    linked.plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    linked.plan.rendition = '240p';
    await linked.plan.awaitFetcher('240p', 0, true, () => 10, signal);
    const quiet = planWith({ open: ['pa'], silent: ['pa'] });
    quiet.plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    await quiet.plan.awaitFetcher('240p', 0, true, () => 10, signal);
    const unlinked = planWith({ holdsData: false });
    unlinked.plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    await unlinked.plan.awaitFetcher('240p', 0, false, () => 0, signal);
    const empty = planWith({ open: ['pa'], found: [] });
    empty.plan.set(['a', 'me'], 'me', ['pa', 'pme']);
    await empty.plan.awaitFetcher('240p', 0, true, () => 10, signal);
    await empty.plan.awaitFetcher('240p', 0, true, () => 2.1, signal);
    expect(linked.plan.waitEnds).toEqual({ 'early found': 1 });
    expect(quiet.plan.waitEnds).toEqual({ 'early not_waited_fetchers_silent': 1 });
    expect(unlinked.plan.waitEnds).toEqual({ 'now not_waited_no_fetcher_linked': 1 });
    expect(empty.plan.waitEnds).toEqual({ 'early nobody_near': 1, 'early out_of_time': 1 });

    vi.useFakeTimers({ toFake: ['setTimeout', 'performance'] });
    try {
      const late = planWith({ open: ['pa'], found: [], foundAfterMs: PLANNED_URGENT_WAIT_MS });
      late.plan.set(['a', 'me'], 'me', ['pa', 'pme']);
      const waited = late.plan.awaitFetcher('240p', 0, false, () => 0.5, signal);
      await vi.advanceTimersByTimeAsync(PLANNED_URGENT_WAIT_MS);
      await waited;
      expect(late.plan.waitEnds).toEqual({ 'now timed_out': 1 });
    } finally {
      vi.useRealTimers();
    }
  });
});
