import { describe, expect, it } from 'vitest';

import { PeerOutlook } from '../../src/p2p/peer-outlook';

describe("the page's outlook on its peers", () => {
  it('judges peers failing after three failed attempts with nothing delivered in the last 30 s', () => {
    const outlook = new PeerOutlook();
    expect(outlook.failing(0), 'nothing tried yet').toBe(false);
    outlook.failed(1_000);
    outlook.failed(2_000);
    expect(outlook.failing(2_000), 'two failures are bad luck').toBe(false);
    outlook.failed(3_000);
    expect(outlook.failing(3_000)).toBe(true);
    expect(outlook.failing(31_000), 'the first failure is 30 s old').toBe(false);
  });

  it('takes one delivered segment as a sign that peers work, for 30 s', () => {
    const outlook = new PeerOutlook();
    outlook.delivered(0);
    for (const at of [1_000, 2_000, 3_000, 4_000]) outlook.failed(at);
    expect(outlook.failing(5_000), 'a peer delivered 5 s ago').toBe(false);
    for (const at of [28_000, 29_000]) outlook.failed(at);
    expect(outlook.failing(30_000), 'the delivery is 30 s old; the failures of the last 30 s remain').toBe(true);
    outlook.delivered(31_000);
    expect(outlook.failing(31_000)).toBe(false);
  });
});
