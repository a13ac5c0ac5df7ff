// How this browser plays HLS. hls.js needs MediaSource, or ManagedMediaSource
// where there is no MediaSource (Safari on the iPhone since iOS 17.1); where
// both exist (Safari on a Mac, WebKitGTK) it takes MediaSource, as hls.js does
// by default. A browser with neither may play the playlist itself (Safari
// before 17.1 on the iPhone; Chromium has HLS of its own too): the video
// element loads the segments, so they never pass through the page and
// cannot be shared.
import { webRtcMissing } from '../webrtc/support';

export type PlaybackPath = 'media-source' | 'managed-media-source' | 'native';

export const NO_HLS = 'This browser cannot play HLS video: it has neither MediaSource nor HLS playback of its own.';

/** The path a player takes here; undefined: none, the movie cannot play. */
export function playbackPath(hlsSupported: boolean, video: HTMLVideoElement): PlaybackPath | undefined {
  if (hlsSupported) {
    // Read as hls.js reads them (WebKitGTK answers `'MediaSource' in window` with false, yet has it).
    const sources = globalThis as { MediaSource?: unknown; ManagedMediaSource?: unknown };
    return sources.MediaSource === undefined && sources.ManagedMediaSource !== undefined ? 'managed-media-source' : 'media-source';
  }
  return video.canPlayType('application/vnd.apple.mpegurl') === '' ? undefined : 'native';
}

/** Why a player on `path` cannot share segments with peers; undefined when it can. */
export function p2pUnavailable(path: PlaybackPath): string | undefined {
  if (path === 'native') return 'this browser plays HLS itself (no MediaSource), so segments never pass through the page';
  return webRtcMissing();
}
