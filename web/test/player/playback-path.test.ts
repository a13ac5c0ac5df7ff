import { afterEach, describe, expect, it, vi } from 'vitest';

import { p2pUnavailable, playbackPath } from '../../src/player/playback-path';

/** A video element that answers canPlayType for HLS as a browser would. */
const video = (hls: '' | 'maybe' | 'probably'): HTMLVideoElement =>
  ({ canPlayType: (type: string) => (type === 'application/vnd.apple.mpegurl' ? hls : '') }) as unknown as HTMLVideoElement;

describe('playbackPath', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('takes hls.js over MediaSource where it can, even beside native HLS', () => {
    expect(playbackPath(true, video('maybe'))).toBe('media-source');
  });

  it('names ManagedMediaSource where the browser has it without MediaSource (hls.js takes MediaSource where both exist)', () => {
    vi.stubGlobal('ManagedMediaSource', function ManagedMediaSource() {});
    vi.stubGlobal('MediaSource', function MediaSource() {});
    expect(playbackPath(true, video(''))).toBe('media-source');
    vi.stubGlobal('MediaSource', undefined);
    expect(playbackPath(true, video(''))).toBe('managed-media-source');
  });

  it('falls back to the browser’s own HLS without MediaSource, and to nothing without either', () => {
    expect(playbackPath(false, video('maybe'))).toBe('native');
    expect(playbackPath(false, video(''))).toBeUndefined();
  });
});

describe('p2pUnavailable', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('says why a native player cannot share, even with WebRTC', () => {
    vi.stubGlobal('RTCPeerConnection', function RTCPeerConnection() {});
    expect(p2pUnavailable('native')).toBe('this browser plays HLS itself (no MediaSource), so segments never pass through the page');
    expect(p2pUnavailable('media-source')).toBeUndefined();
  });

  it('names the missing WebRTC on the MediaSource paths', () => {
    vi.stubGlobal('RTCPeerConnection', undefined);
    expect(p2pUnavailable('managed-media-source')).toBe('this browser has no WebRTC (RTCPeerConnection)');
  });
});
