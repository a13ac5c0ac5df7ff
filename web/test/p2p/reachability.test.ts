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
