import { describe, expect, it } from 'vitest';

import { Reachability } from '../../src/p2p/reachability';

describe('which peers a page could link to', () => {
  it('counts peers tried and never reached, and forgets them after two minutes', () => {
    const reach = new Reachability();
    reach.failed('a', 0);
    reach.failed('b', 1_000);
    reach.failed('b', 2_000);
    expect(reach.unreachable(3_000)).toBe(2);
    expect(reach.unreachable(121_500), 'a failed more than two minutes ago').toBe(1);
    expect(reach.unreachable(122_500)).toBe(0);
  });

  it('never counts a peer once a link to it opened', () => {
    const reach = new Reachability();
    reach.failed('a', 0);
    reach.reached('a');
    expect(reach.unreachable(1)).toBe(0);
    reach.failed('a', 2);
    expect(reach.unreachable(3), 'a later failure is a link that dropped, not a NAT').toBe(0);
  });
});

describe('a link still shut after a while', () => {
  it('counts as unreachable at once, until it opens', () => {
    const reach = new Reachability();
    reach.slow('a', 0);
    reach.slow('b', 0);
    expect(reach.unreachable(1), 'the room hears of it before the connect time runs out').toBe(2);
    reach.reached('a');
    expect(reach.unreachable(2)).toBe(1);
  });

  it('is counted once when it then fails, and not at all when it was given up for a deadline', () => {
    const reach = new Reachability();
    reach.slow('a', 0);
    reach.failed('a', 10);
    expect(reach.unreachable(11)).toBe(1);
    reach.slow('b', 20);
    reach.abandoned('b');
    expect(reach.unreachable(21)).toBe(1);
  });

  it('is never marked once a link to that peer opened', () => {
    const reach = new Reachability();
    reach.reached('a');
    reach.slow('a', 0);
    expect(reach.unreachable(1)).toBe(0);
  });
});
