import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { keepIceServersFresh, REFRESH_MARGIN_MS, turnExpiryMs } from '../../src/api/ice-refresh';

const HOUR = 3_600_000;

function servers(expiryMs: number): RTCIceServer[] {
  return [
    { urls: ['stun:{host}:3478'] },
    { urls: ['turn:{host}:3478?transport=udp'], username: `${Math.floor(expiryMs / 1000)}:viewer`, credential: 'c' },
  ];
}

describe('fresh TURN credentials', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  it('reads the earliest expiry of the REST usernames, none without TURN', () => {
    const now = Date.now();
    expect(turnExpiryMs([...servers(now + 2 * HOUR), ...servers(now + HOUR)])).toBe(Math.floor((now + HOUR) / 1000) * 1000);
    expect(turnExpiryMs([{ urls: 'stun:a' }])).toBeUndefined();
    expect(turnExpiryMs([{ urls: 'turn:a', username: 'fixed-user', credential: 'p' }])).toBeUndefined();
  });

  it('fetches fresh ones a margin before the expiry, then again before theirs', async () => {
    const start = Date.now();
    const fetched: number[] = [];
    const applied: RTCIceServer[][] = [];
    const fetchFresh = (): Promise<RTCIceServer[]> => {
      fetched.push(Date.now() - start);
      return Promise.resolve(servers(Date.now() + 6 * HOUR));
    };
    const { stop } = keepIceServersFresh(servers(start + 6 * HOUR), fetchFresh, (s) => applied.push(s));
    await vi.advanceTimersByTimeAsync(6 * HOUR - REFRESH_MARGIN_MS - 1_000);
    expect(fetched).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(fetched).toHaveLength(1);
    expect(applied).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(6 * HOUR);
    expect(fetched, 'the fresh ones are renewed in turn').toHaveLength(2);
    stop();
    await vi.advanceTimersByTimeAsync(12 * HOUR);
    expect(fetched, 'nothing after stop').toHaveLength(2);
  });

  it('refreshes at most every 30 s however short-lived the credentials', async () => {
    let calls = 0;
    const shortLived = (): Promise<RTCIceServer[]> => {
      calls += 1;
      return Promise.resolve(servers(Date.now() + 60_000));
    };
    const { stop } = keepIceServersFresh(servers(Date.now() + 60_000), shortLived, () => undefined);
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(calls).toBeLessThanOrEqual(11);
    expect(calls).toBeGreaterThanOrEqual(9);
    stop();
  });

  it('tries again a minute after a failed fetch, and never without TURN', async () => {
    const start = Date.now();
    let calls = 0;
    const failing = (): Promise<RTCIceServer[]> => {
      calls += 1;
      return calls === 1 ? Promise.reject(new Error('offline')) : Promise.resolve(servers(Date.now() + 6 * HOUR));
    };
    const applied: RTCIceServer[][] = [];
    const { stop } = keepIceServersFresh(servers(start + REFRESH_MARGIN_MS), failing, (s) => applied.push(s));
    await vi.advanceTimersByTimeAsync(1);
    expect([calls, applied.length]).toEqual([1, 0]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect([calls, applied.length]).toEqual([2, 1]);
    stop();

    let stunOnlyCalls = 0;
    const { stop: stopStun } = keepIceServersFresh([{ urls: 'stun:a' }], () => Promise.resolve([]).finally(() => (stunOnlyCalls += 1)), () => undefined);
    await vi.advanceTimersByTimeAsync(24 * HOUR);
    expect(stunOnlyCalls).toBe(0);
    stopStun();
  });

  it('plans the next fetch from servers taken another way, and drops a fetch under way then', async () => {
    const start = Date.now();
    let calls = 0;
    let answer: (servers: RTCIceServer[]) => void = () => undefined;
    const fetchFresh = (): Promise<RTCIceServer[]> => {
      calls += 1;
      return new Promise((resolve) => (answer = resolve));
    };
    const applied: RTCIceServer[][] = [];
    const refresh = keepIceServersFresh(servers(start + HOUR), fetchFresh, (s) => applied.push(s));
    await vi.advanceTimersByTimeAsync(HOUR - REFRESH_MARGIN_MS);
    expect(calls, 'due a margin before the first expiry').toBe(1);
    refresh.took(servers(Date.now() + 6 * HOUR));
    answer(servers(Date.now() + 6 * HOUR));
    await vi.advanceTimersByTimeAsync(1);
    expect(applied, 'the fetch under way is not applied over them').toEqual([]);
    await vi.advanceTimersByTimeAsync(5 * HOUR);
    expect(calls, 'the old expiry no longer counts').toBe(1);
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(calls, 'due a margin before the new expiry').toBe(2);
    refresh.stop();
  });
});
