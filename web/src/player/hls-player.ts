// hls.js with the P2P loader: the player every movie and room page uses
// (or the browser's own HLS where it has no MediaSource: native-player.ts).
// Look-ahead is kept short on purpose: segments are fetched as the buffer
// needs them, never far ahead, so nothing is downloaded that is not played
// and peers just behind have time to fetch from peers just ahead.
import type Hls from 'hls.js';
import type { LevelDetails } from 'hls.js';

import { keepIceServersFresh } from '../api/ice-refresh';
import { rtcIceServers, withoutRelays } from '../api/ice-servers';
import type { MovieDetail, SegmentManifest } from '../api/types';
import { P2PEngine } from '../p2p/engine';
import { p2pFragmentLoader } from '../p2p/hls-loader';
import { DEFAULT_P2P_CONFIG, type P2PConfig } from '../p2p/types';
import { bufferedAhead } from './buffered-ahead';
import { createNativePlayer } from './native-player';
import { NO_HLS, p2pUnavailable, type PlaybackPath, playbackPath } from './playback-path';
import { watchStartStalls } from './start-stall';

/** Seconds of media buffered ahead of the playhead. */
export const BUFFER_AHEAD_SECS = 16;
/**
 * ... while a room waits to start: enough to start at once. hls.js loads
 * while it holds less than this, so with 2 s segments that is two of them.
 */
const WAITING_AHEAD_SECS = 3;

export interface PlayerHandle {
  /** Undefined where the browser plays HLS itself. */
  hls: Hls | undefined;
  /** With P2P off or unavailable it only counts what came over HTTP. */
  engine: P2PEngine;
  path: PlaybackPath;
  /** Why this player cannot share segments with peers; undefined when it can. */
  p2pUnavailable: string | undefined;
  /**
   * While a room is paused, its players load only what they need to start:
   * a few seconds, at the rendition they have. The server's uplink then
   * brings every member's first segments before anyone's later ones (a host
   * alone in a room climbed to 480p, loaded its first segments again and
   * went on ahead while the guests waited 4 s for their first 240p one).
   */
  waitForStart: (waiting: boolean) => void;
  /**
   * The room's rendition, an index into the renditions from the lowest
   * bitrate up (services/rooms/src/room/rendition.rs); undefined: hls.js picks.
   * Only a sharing player follows it, and never past what its screen shows.
   */
  followRoomRendition: (level: number | undefined) => void;
  /**
   * The viewer's own quality choice, an hls.js level index; -1: Auto (the
   * room's rendition in a room, hls.js's choice elsewhere). A chosen one
   * stays whatever the room does, and its buffer no longer speaks for the
   * room's rendition.
   */
  chooseLevel: (level: number) => void;
  /** What the room judges its rendition by; undefined unless it follows the room's, or before the renditions are known. */
  bufferReport: () => BufferReport | undefined;
  /** How often a video that stood still with seconds buffered was moved on (start-stall.ts). */
  stallKicks: () => number;
  /** Stops loading segments (a file plays in the movie's place), and starts again at a position. */
  stopLoad: () => void;
  startLoad: (at: number) => void;
  destroy: () => void;
}

export interface BufferReport {
  /** Seconds held ahead of the playhead. */
  aheadSecs: number;
  /** The highest rendition this player shows (its screen's size). */
  topLevel: number;
}


/** Absolute WebSocket URL of a path on this page's server. */
export function webSocketUrl(path: string, origin: string = location.origin): string {
  return new URL(path, origin).href.replace(/^http/, 'ws');
}

/** The player for this browser; throws `NO_HLS` where it can play no HLS at all. */
export function createPlayer(
  HlsPlayer: typeof Hls,
  video: HTMLVideoElement,
  movie: MovieDetail,
  manifest: SegmentManifest,
  overrides: Partial<P2PConfig>,
  startPosition = 0,
  /** The audio track to start with (hls.js matches its name and language); undefined: the movie's default. */
  audio?: { name: string; lang?: string },
): PlayerHandle {
  // Segments take TURN only where the server allows it (`turn.relay_segments`): HTTP is the fallback.
  const iceServers = movie.tracker.relay_segments ? rtcIceServers(movie.tracker.ice_servers) : withoutRelays(rtcIceServers(movie.tracker.ice_servers));
  const config: P2PConfig = { ...DEFAULT_P2P_CONFIG, iceServers, ...overrides };
  const path = playbackPath(HlsPlayer.isSupported(), video);
  if (path === undefined) throw new Error(NO_HLS);
  // A player that cannot share stays off the tracker: no peer could reach it.
  const unavailable = p2pUnavailable(path);
  if (unavailable !== undefined) config.p2p = false;
  let aheadSecs = BUFFER_AHEAD_SECS;
  const engine = new P2PEngine({
    movie: movie.id,
    manifest,
    trackerUrl: webSocketUrl(movie.tracker.url),
    token: movie.tracker.token,
    config,
    playhead: () => video.currentTime,
    bufferedAhead: () => bufferedAhead(video),
    aheadSecs: () => aheadSecs,
  });
  if (path === 'native') return createNativePlayer(video, movie, engine, startPosition);
  const hls = new HlsPlayer({
    capLevelToPlayerSize: true,
    // The lowest rendition first, then up as loads show the path can carry more.
    // Left to itself, hls.js falls back to the master playlist's first (best)
    // rendition when its default estimate fits none: a 480p first segment took
    // 8 s to six viewers sharing a 4 Mbit/s server uplink, 240p takes 1.5 s.
    startLevel: 0,
    startPosition: startPosition > 0 ? startPosition : -1,
    maxBufferLength: BUFFER_AHEAD_SECS,
    maxMaxBufferLength: BUFFER_AHEAD_SECS,
    ...(audio === undefined ? {} : { audioPreference: audio }),
    // Subtitles are the page's own (player/tracks): hls.js leaves them alone.
    enableWebVTT: false,
    // P2P off means hls.js as it comes: its own loader, nothing in between.
    ...(config.p2p ? { fLoader: p2pFragmentLoader(engine, HlsPlayer.DefaultConfig.loader) } : {}),
  });
  const { abrBandWidthUpFactor } = hls.config;
  engine.seeked(startPosition);
  // Relayed segment links need fresh TURN credentials like the call's (see api/ice-refresh).
  const iceRefresh = movie.tracker.relay_segments
    ? keepIceServersFresh(
        iceServers,
        async () => {
          const response = await fetch(`/api/movies/${encodeURIComponent(movie.id)}`);
          if (!response.ok) throw new Error(`movie details: ${response.status}`);
          return rtcIceServers(((await response.json()) as MovieDetail).tracker.ice_servers);
        },
        (fresh) => (engine.config.iceServers = fresh),
      )
    : undefined;
  if (!config.p2p) {
    hls.on(HlsPlayer.Events.FRAG_LOADED, (_event, { frag, payload }) => {
      const rendition = engine.index.renditionOfUrl(frag.url);
      if (rendition !== undefined && frag.sn !== 'initSegment') engine.observedHttpLoad(rendition, frag.sn, payload.byteLength);
    });
  }
  // Where the video was before a seek: `seeking` reports only where it goes.
  let playedTo = startPosition;
  const timeupdate = (): void => {
    if (!video.seeking) playedTo = video.currentTime;
  };
  const seeking = (): void => {
    engine.seeked(video.currentTime, playedTo);
    playedTo = video.currentTime;
  };
  video.addEventListener('timeupdate', timeupdate);
  video.addEventListener('seeking', seeking);
  // The room's prefetch fetches segments before the player asks: it needs their URLs.
  // So does its fetching of an audio rendition several members play.
  const keepSegmentUrls = (_event: unknown, { details }: { details: LevelDetails }): void => {
    const rendition = engine.index.renditionOfUrl(details.url);
    if (rendition !== undefined) engine.setSegmentUrls(rendition, details.fragments.map((f) => f.url));
  };
  hls.on(HlsPlayer.Events.LEVEL_LOADED, keepSegmentUrls);
  hls.on(HlsPlayer.Events.AUDIO_TRACK_LOADED, keepSegmentUrls);
  // The room's rendition, once hls.js knows the renditions, and again as the
  // screen's size (hls.js's cap) changes.
  let roomLevel: number | undefined;
  let chosenLevel = -1;
  const followRoom = (): void => {
    if (hls.levels.length === 0) return;
    if (chosenLevel !== -1) {
      if (hls.manualLevel !== chosenLevel) hls.currentLevel = chosenLevel;
      return;
    }
    if (!config.p2p) {
      if (hls.manualLevel !== -1) hls.currentLevel = -1;
      return;
    }
    const roomLevelUrl = roomLevel === undefined ? undefined : hls.levels[Math.min(roomLevel, hls.levels.length - 1)]?.uri;
    engine.setRoomRendition(roomLevelUrl === undefined ? undefined : engine.index.renditionOfUrl(roomLevelUrl));
    const level = roomLevel === undefined ? -1 : Math.min(roomLevel, hls.maxAutoLevel);
    // From the next segment loaded on: what is buffered plays out.
    if (hls.manualLevel !== level) hls.loadLevel = level;
  };
  hls.on(HlsPlayer.Events.MANIFEST_PARSED, followRoom);
  hls.on(HlsPlayer.Events.FRAG_LOADED, followRoom);
  hls.loadSource(movie.master_playlist_url);
  hls.attachMedia(video);
  const stalls = watchStartStalls(video, () => bufferedAhead(video));
  return {
    hls,
    engine,
    path,
    p2pUnavailable: unavailable,
    waitForStart: (waiting) => {
      aheadSecs = waiting ? WAITING_AHEAD_SECS : BUFFER_AHEAD_SECS;
      // hls.js reads these each time it decides what to load next. A switch
      // up is what it judges by the up factor; none while waiting.
      hls.config.maxBufferLength = hls.config.maxMaxBufferLength = aheadSecs;
      hls.config.abrBandWidthUpFactor = waiting ? 0 : abrBandWidthUpFactor;
    },
    followRoomRendition: (level) => {
      roomLevel = level;
      followRoom();
    },
    chooseLevel: (level) => {
      chosenLevel = level;
      followRoom();
    },
    bufferReport: () =>
      config.p2p && roomLevel !== undefined && chosenLevel === -1 && hls.levels.length > 0
        ? { aheadSecs: bufferedAhead(video), topLevel: hls.maxAutoLevel }
        : undefined,
    stallKicks: stalls.kicks,
    stopLoad: () => hls.stopLoad(),
    startLoad: (at) => hls.startLoad(at),
    destroy: () => {
      stalls.stop();
      iceRefresh?.stop();
      video.removeEventListener('seeking', seeking);
      video.removeEventListener('timeupdate', timeupdate);
      hls.destroy();
      engine.destroy();
    },
  };
}
