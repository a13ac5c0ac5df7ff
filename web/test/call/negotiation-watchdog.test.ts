import { describe, expect, it } from 'vitest';

import { type LinkProgress, nudgeFor } from '../../src/call/negotiation-watchdog';

const timings = { answerWaitMs: 1_000, connectWaitMs: 4_000 };
const link = (progress: Partial<LinkProgress>): LinkProgress => ({
  signaling: 'stable',
  connection: 'new',
  negotiates: true,
  waitedMs: 0,
  retries: 0,
  gathered: 2,
  silentGatheringMs: 0,
  ...progress,
});

describe('the negotiation watchdog', () => {
  it('leaves connected, closed and empty links alone however long they waited', () => {
    expect(nudgeFor(link({ connection: 'connected', waitedMs: 60_000 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ connection: 'closed', waitedMs: 60_000 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ signaling: 'closed', waitedMs: 60_000 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ negotiates: false, waitedMs: 60_000 }), timings)).toBeUndefined();
  });

  it('sends an unanswered offer again once the answer is overdue', () => {
    expect(nudgeFor(link({ signaling: 'have-local-offer', waitedMs: 900 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ signaling: 'have-local-offer', waitedMs: 1_100 }), timings)).toBe('resend-offer');
  });

  it('restarts ICE on a negotiated link that never saw a candidate, sooner than on one still checking', () => {
    expect(nudgeFor(link({ waitedMs: 1_100 }), timings)).toBe('restart-ice');
    expect(nudgeFor(link({ connection: 'connecting', waitedMs: 1_100 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ connection: 'connecting', waitedMs: 4_100 }), timings)).toBe('restart-ice');
    expect(nudgeFor(link({ connection: 'failed', waitedMs: 4_100 }), timings)).toBe('restart-ice');
  });

  it('replaces a connection that gathered no candidate of its own even after an ICE restart', () => {
    expect(nudgeFor(link({ gathered: 0, waitedMs: 1_100 }), timings), 'a restart first').toBe('restart-ice');
    expect(nudgeFor(link({ gathered: 0, retries: 1, waitedMs: 2_100 }), timings)).toBe('recreate');
    expect(nudgeFor(link({ gathered: 1, retries: 1, waitedMs: 2_100 }), timings)).toBe('restart-ice');
    expect(nudgeFor(link({ gathered: 0, retries: 1, connection: 'connecting', waitedMs: 8_100 }), timings)).toBe('restart-ice');
  });

  it('replaces a connection that has been gathering for seconds without a candidate, without a restart first', () => {
    expect(nudgeFor(link({ gathered: 0, silentGatheringMs: 900, waitedMs: 900 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ gathered: 0, silentGatheringMs: 1_100, waitedMs: 100 }), timings), 'whatever the other side did since').toBe('recreate');
    expect(nudgeFor(link({ gathered: 5, silentGatheringMs: 1_100 }), timings), 'silent since a restart').toBe('recreate');
    expect(nudgeFor(link({ gathered: 0, silentGatheringMs: 1_900, retries: 1 }), timings), 'after a retry, the wait doubles').toBeUndefined();
    expect(nudgeFor(link({ gathered: 0, silentGatheringMs: 2_100, retries: 1 }), timings)).toBe('recreate');
    expect(nudgeFor(link({ signaling: 'have-local-offer', gathered: 0, silentGatheringMs: 1_100 }), timings), 'its own offer out').toBe('recreate');
    expect(nudgeFor(link({ connection: 'connected', gathered: 0, silentGatheringMs: 60_000 }), timings), 'connected all the same').toBeUndefined();
    expect(nudgeFor(link({ connection: 'connecting', gathered: 0, silentGatheringMs: 60_000 }), timings), 'checking the other side').toBeUndefined();
  });

  it('rolls back a remote offer this side never answered', () => {
    expect(nudgeFor(link({ signaling: 'have-remote-offer', waitedMs: 1_100 }), timings)).toBe('rollback');
  });

  it('doubles its waits with each retry, up to eight times as long', () => {
    expect(nudgeFor(link({ signaling: 'have-local-offer', waitedMs: 1_500, retries: 1 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ signaling: 'have-local-offer', waitedMs: 2_100, retries: 1 }), timings)).toBe('resend-offer');
    expect(nudgeFor(link({ signaling: 'have-local-offer', waitedMs: 7_900, retries: 9 }), timings)).toBeUndefined();
    expect(nudgeFor(link({ signaling: 'have-local-offer', waitedMs: 8_100, retries: 9 }), timings)).toBe('resend-offer');
  });
});
