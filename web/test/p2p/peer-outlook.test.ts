import { describe, expect, it } from 'vitest';

import { PeerOutlook } from '../../src/p2p/peer-outlook';

describe("the page's outlook on its peers", () => {
  it('judges peers failing after three failed attempts in a row', () => {
    const outlook = new PeerOutlook();
    expect(outlook.failing(), 'nothing tried yet').toBe(false);
    outlook.failed();
    outlook.failed();
    expect(outlook.failing(), 'two failures are bad luck').toBe(false);
    outlook.failed();
    expect(outlook.failing()).toBe(true);
  });

  it('takes one delivered segment as a sign that peers work again', () => {
    const outlook = new PeerOutlook();
    for (let i = 0; i < 5; i++) outlook.failed();
    outlook.delivered();
    expect(outlook.failing()).toBe(false);
    outlook.failed();
    outlook.failed();
    expect(outlook.failing(), 'counting starts again').toBe(false);
  });
});
