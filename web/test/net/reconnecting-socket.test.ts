import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { ReconnectingSocket } from '../../src/net/reconnecting-socket';

/** A WebSocket the test opens, feeds and closes by hand. */
class FakeSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 3;
  static made: FakeSocket[] = [];
  readyState = FakeSocket.CONNECTING;
  readonly sent: string[] = [];
  closedByClient = false;

  constructor(readonly url: string) {
    super();
    FakeSocket.made.push(this);
  }

  send(text: string): void {
    this.sent.push(text);
  }

  close(): void {
    this.closedByClient = true;
  }

  open(): void {
    this.readyState = FakeSocket.OPEN;
    this.dispatchEvent(new Event('open'));
  }

  receive(text: string): void {
    this.dispatchEvent(new MessageEvent('message', { data: text }));
  }

  serverCloses(): void {
    this.readyState = FakeSocket.CLOSED;
    this.dispatchEvent(new Event('close'));
  }
}

function socketOpts(drops: string[]): ConstructorParameters<typeof ReconnectingSocket>[0] {
  return {
    url: 'ws://server/socket',
    minDelayMs: 500,
    maxDelayMs: 8_000,
    connectTimeoutMs: 3_000,
    onOpen: (send) => send('hello'),
    onMessage: () => {},
    onDrop: () => drops.push('drop'),
  };
}

describe('a reconnecting socket', () => {
  beforeEach(() => {
    FakeSocket.made = [];
    vi.useFakeTimers();
    vi.stubGlobal('WebSocket', FakeSocket);
  });

  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('gives up a try that does not open in time and tries again at the shortest delay', () => {
    const drops: string[] = [];
    new ReconnectingSocket(socketOpts(drops));
    expect(FakeSocket.made).toHaveLength(1);
    vi.advanceTimersByTime(2_900);
    expect(drops).toEqual([]);
    vi.advanceTimersByTime(700);
    expect(drops).toEqual(['drop']);
    expect(FakeSocket.made[0]?.closedByClient).toBe(true);
    vi.advanceTimersByTime(500);
    expect(FakeSocket.made).toHaveLength(2);
    // A path that stays dead is tried every 4 s at most (timeout, its check, the shortest delay), never backed off.
    vi.advanceTimersByTime(3 * 4_100);
    expect(FakeSocket.made.length).toBeGreaterThanOrEqual(5);
  });

  it('takes an unanswered ping for a dead path, and an answer in time for a live one', () => {
    const drops: string[] = [];
    const socket = new ReconnectingSocket(socketOpts(drops));
    const first = FakeSocket.made[0];
    first?.open();
    expect(first?.sent).toEqual(['hello']);
    socket.expectAnswer(4_000);
    vi.advanceTimersByTime(3_000);
    first?.receive('pong');
    vi.advanceTimersByTime(10_000);
    expect(drops, 'answered in time, and nothing asked since').toEqual([]);
    socket.expectAnswer(4_000);
    vi.advanceTimersByTime(4_600);
    expect(drops).toEqual(['drop']);
    expect(first?.closedByClient).toBe(true);
    vi.advanceTimersByTime(500);
    FakeSocket.made[1]?.open();
    expect(FakeSocket.made[1]?.sent).toEqual(['hello']);
  });

  it('does not take a page that was busy for a dead path', () => {
    const drops: string[] = [];
    const socket = new ReconnectingSocket(socketOpts(drops));
    const first = FakeSocket.made[0];
    first?.open();
    socket.expectAnswer(4_000);
    // The page's thread is blocked for 6 s: the watchdog's ticks come late, the answer waits behind them.
    vi.setSystemTime(Date.now() + 6_000);
    vi.advanceTimersToNextTimer();
    expect(drops, 'a late tick does not judge').toEqual([]);
    first?.receive('pong');
    vi.advanceTimersByTime(5_000);
    expect(drops).toEqual([]);
  });

  it('backs off when the server closes it, until it is taken back', () => {
    const drops: string[] = [];
    const socket = new ReconnectingSocket(socketOpts(drops));
    const gaps: number[] = [];
    let last = Date.now();
    for (let i = 0; i < 4; i++) {
      const current = FakeSocket.made.at(-1);
      current?.open();
      current?.serverCloses();
      const count = FakeSocket.made.length;
      while (FakeSocket.made.length === count) vi.advanceTimersByTime(50);
      gaps.push(Date.now() - last);
      last = Date.now();
    }
    expect(gaps[3] ?? 0).toBeGreaterThan(gaps[0] ?? 0);
    expect(gaps[3] ?? 0).toBeGreaterThanOrEqual(2_000);
    socket.established();
    FakeSocket.made.at(-1)?.open();
    FakeSocket.made.at(-1)?.serverCloses();
    const count = FakeSocket.made.length;
    vi.advanceTimersByTime(550);
    expect(FakeSocket.made.length, 'taken back: the shortest delay again').toBe(count + 1);
  });
});
