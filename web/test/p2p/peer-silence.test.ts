import { describe, expect, it } from 'vitest';

import { PeerSilence } from '../../src/p2p/peer-silence';

describe('peers that went silent on this page', () => {
  it('counts a peer silent after two transfers in a row without progress', () => {
    const silence = new PeerSilence();
    silence.failed('a', 0);
    expect(silence.silent('a', 1), 'one failure is bad luck').toBe(false);
    silence.failed('a', 2);
    expect(silence.silent('a', 3)).toBe(true);
    expect(silence.silent('b', 3)).toBe(false);
  });

  it('forgets it once it delivers, or 30 s after its last failure', () => {
    const silence = new PeerSilence();
    silence.failed('a', 0);
    silence.failed('a', 0);
    silence.delivered('a');
    expect(silence.silent('a', 1)).toBe(false);
    silence.failed('b', 0);
    silence.failed('b', 1_000);
    expect(silence.silent('b', 30_000)).toBe(true);
    expect(silence.silent('b', 31_001)).toBe(false);
    silence.failed('b', 31_002);
    expect(silence.silent('b', 31_003), 'counting starts again').toBe(false);
  });
});
