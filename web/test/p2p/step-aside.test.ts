import { describe, expect, it } from 'vitest';

import { StepAside } from '../../src/p2p/step-aside';

describe('setting peers aside while their transfers fail', () => {
  it('sets peers aside for 30 s after three failed transfers in a row, then tries them again', () => {
    const peers = new StepAside();
    peers.failed(0);
    peers.failed(1);
    expect(peers.aside(2)).toBe(false);
    peers.failed(3);
    expect(peers.aside(4)).toBe(true);
    expect(peers.aside(30_002)).toBe(true);
    expect(peers.aside(30_004), 'another try after 30 s').toBe(false);
    peers.failed(30_005);
    expect(peers.aside(30_006), 'one more failure is not three').toBe(false);
  });

  it('counts only failures in a row', () => {
    const peers = new StepAside();
    peers.failed(0);
    peers.failed(1);
    peers.succeeded();
    peers.failed(2);
    expect(peers.aside(3)).toBe(false);
  });
});
