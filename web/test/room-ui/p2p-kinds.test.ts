import { describe, expect, it } from 'vitest';

import { describeKinds } from '../../src/room-ui/p2p-panel';

describe('the P2P panel’s video and audio', () => {
  it('counts audio tracks apart from the video', () => {
    const stats = { httpBytes: 3_000_000, peerBytes: 7_000_000, audioHttpBytes: 100_000, audioPeerBytes: 300_000 };
    expect(describeKinds(stats)).toBe('Video 70 % from peers (9.6 MB) · audio 75 % from peers (400.0 KB)');
  });

  it('says nothing of audio when the movie’s audio is in its video', () => {
    expect(describeKinds({ httpBytes: 10, peerBytes: 10, audioHttpBytes: 0, audioPeerBytes: 0 })).toBe('');
  });
});
