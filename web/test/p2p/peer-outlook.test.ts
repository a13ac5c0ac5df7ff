import { describe, expect, it } from 'vitest';

import { PeerOutlook } from '../../src/p2p/peer-outlook';

describe("the page's outlook on its peers", () => {
  it('judges peers failing after three failed attempts in a row', () => {
    const outlook = new PeerOutlook();
    expect(outlook.failing(), 'nothing tried yet').toBe(false);
    outlook.failed('a', 0);
    outlook.failed('b', 1_000);
    expect(outlook.failing(), 'two failures are bad luck').toBe(false);
    outlook.failed('a', 4_000);
    expect(outlook.failing()).toBe(true);
  });

  it('counts the failures of one source close together once: one peer leaving is not a failing swarm', () => {
    const outlook = new PeerOutlook();
    for (const at of [0, 10, 20, 2_900]) outlook.failed('a', at);
    expect(outlook.failing()).toBe(false);
    outlook.failed('room fetcher', 3_000);
    expect(outlook.failing()).toBe(false);
    outlook.failed('a', 3_000);
    expect(outlook.failing(), "a's failure 3 s after its last counted one counts again").toBe(true);
  });

  it('takes one delivered segment as a sign that peers work again', () => {
    const outlook = new PeerOutlook();
    for (let i = 0; i < 5; i++) outlook.failed(`p${i}`, 0);
    outlook.delivered();
    expect(outlook.failing()).toBe(false);
    outlook.failed('p0', 1);
    outlook.failed('p1', 1);
    expect(outlook.failing(), 'counting starts again').toBe(false);
  });
});
