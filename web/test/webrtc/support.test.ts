import { afterEach, describe, expect, it, vi } from 'vitest';

import { webRtcMissing } from '../../src/webrtc/support';

describe('webRtcMissing', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('names what is missing in a browser without RTCPeerConnection', () => {
    vi.stubGlobal('RTCPeerConnection', undefined);
    expect(webRtcMissing()).toBe('this browser has no WebRTC (RTCPeerConnection)');
  });

  it('is undefined where peer connections can be made', () => {
    vi.stubGlobal('RTCPeerConnection', function RTCPeerConnection() {});
    expect(webRtcMissing()).toBeUndefined();
  });
});
