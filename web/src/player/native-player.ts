// The player where the browser plays HLS itself (no MediaSource): the video
// element loads the master playlist, picks renditions and fetches segments
// on its own. The room's clock still drives the element (play, pause, seek,
// rate), so sync holds; what the page cannot do here is share segments,
// follow the room's rendition or hold back loading while the room waits.
// The segments the browser fetched still show in the viewer's figures, from
// the page's resource timing.
import type { MovieDetail } from '../api/types';
import type { P2PEngine } from '../p2p/engine';
import type { PlayerHandle } from './hls-player';
import { p2pUnavailable } from './playback-path';

/** `/media/<movie>/<rendition>/seg_00012.ts` → 12. */
const SEGMENT_FILE = /\/seg_(\d+)\.[a-z0-9]+$/;

export function createNativePlayer(video: HTMLVideoElement, movie: MovieDetail, engine: P2PEngine, startPosition: number): PlayerHandle {
  // An observer hears of each fetch once (a segment fetched again after a seek is a new entry);
  // only this movie's, fetched from now on (the page may have played others before).
  const mine = `/media/${encodeURIComponent(movie.id)}/`;
  const countSegments = (entries: PerformanceEntryList): void => {
    for (const entry of entries) {
      const timing = entry as PerformanceResourceTiming;
      const path = new URL(timing.name).pathname;
      if (!path.startsWith(mine)) continue;
      const sequence = SEGMENT_FILE.exec(path)?.[1];
      const rendition = engine.index.renditionOfUrl(timing.name);
      if (sequence !== undefined && rendition !== undefined) engine.observedHttpLoad(rendition, Number(sequence), timing.encodedBodySize || timing.transferSize);
    }
  };
  const observer = typeof PerformanceObserver === 'undefined' ? undefined : new PerformanceObserver((list) => countSegments(list.getEntries()));
  observer?.observe({ type: 'resource' });
  const seekToStart = (): void => {
    if (startPosition > 0 && video.currentTime === 0) video.currentTime = startPosition;
  };
  video.addEventListener('loadedmetadata', seekToStart, { once: true });
  video.src = movie.master_playlist_url;
  return {
    hls: undefined,
    engine,
    path: 'native',
    p2pUnavailable: p2pUnavailable('native'),
    // The browser decides how far ahead it loads, and which rendition.
    waitForStart: () => {},
    followRoomRendition: () => {},
    chooseLevel: () => {},
    bufferReport: () => undefined,
    // The browser's own player is left to itself.
    stallKicks: () => 0,
    stopLoad: () => video.pause(),
    startLoad: () => {},
    destroy: () => {
      observer?.disconnect();
      video.removeEventListener('loadedmetadata', seekToStart);
      video.removeAttribute('src');
      video.load();
      engine.destroy();
    },
  };
}
