// How this browser plays HLS. hls.js needs MediaSource, or ManagedMediaSource
// (Safari on the iPhone since iOS 17.1, WebKitGTK), which it prefers where
// both exist. A browser with neither may play the playlist itself (Safari
// before 17.1 on the iPhone, Chromium since 141): the video element loads
// the segments, so they never pass through the page and cannot be shared.
import { webRtcMissing } from '../webrtc/support';

export type PlaybackPath = 'media-source' | 'managed-media-source' | 'native';

export const NO_HLS = 'This browser cannot play HLS video: it has neither MediaSource nor HLS playback of its own.';

/** The path a player takes here; undefined: none, the movie cannot play. */
export function playbackPath(hlsSupported: boolean, video: HTMLVideoElement): PlaybackPath | undefined {
  if (hlsSupported) return 'ManagedMediaSource' in globalThis ? 'managed-media-source' : 'media-source';
  return video.canPlayType('application/vnd.apple.mpegurl') === '' ? undefined : 'native';
}

/** Why a player on `path` cannot share segments with peers; undefined when it can. */
export function p2pUnavailable(path: PlaybackPath): string | undefined {
  if (path === 'native') return 'this browser plays HLS itself (no MediaSource), so segments never pass through the page';
  return webRtcMissing();
}
