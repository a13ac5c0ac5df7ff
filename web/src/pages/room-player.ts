// The movie's player in a watch party. It starts once the room welcomes this
// member, at the room's position, and keeps to the room: it loads what the
// room's fetch plan gives it to fetch over HTTP, follows the room's rendition,
// loads only enough to start while the room is paused, and tells the room
// whether it shares with peers. It steps aside while a file plays instead,
// and starts again on another movie when the room's queue moves on.
import type { ApiClient } from '../api/client';
import type { MovieDetail } from '../api/types';
import type { P2PStats, RoomFetchPlans } from '../p2p/types';
import { createPlayer, type PlayerHandle } from '../player/hls-player';
import { loadPreferences } from '../player/preferences';
import type { QualityMenu } from '../player/quality-menu';
import type { TrackMenus } from '../player/tracks/track-menus';
import type { RoomClient, SharingState } from '../rooms/room-client';

/** What the room player needs from the page around it. */
export interface RoomPlayerParts {
  api: Pick<ApiClient, 'getSegmentManifest'>;
  room: Pick<RoomClient, 'member' | 'playback' | 'roomPosition' | 'share'>;
  movie: MovieDetail;
  video: HTMLVideoElement;
  /** The subtitles drawn over the video: they step aside with it. */
  subtitles: HTMLElement;
  tracks: Pick<TrackMenus, 'startingAudio' | 'bind'>;
  quality: Pick<QualityMenu, 'bind'>;
  /** The player now exists (the page exposes it, and stops its loading if a file plays). */
  started: (player: PlayerHandle) => void;
  /** The player took in more of the movie: whether it can start may have changed. */
  buffered: () => void;
}

export class RoomPlayer {
  readonly #parts: RoomPlayerParts;
  #player: PlayerHandle | undefined;
  /** Goes up with each movie: a start still loading for the last one gives up. */
  #generation = 0;
  /** The room's plans for who fetches over HTTP, as the room last said (kept for a player not started yet). */
  #fetchPlans: RoomFetchPlans = { slots: [], fetchers: [] };
  /** The rendition the room's sharing players load, as the room last said. */
  #rendition: number | undefined;

  constructor(parts: RoomPlayerParts) {
    this.#parts = parts;
  }

  /** The player; undefined until the room's first welcome brings it. */
  get handle(): PlayerHandle | undefined {
    return this.#player;
  }

  /** The movie the player plays (undefined while none is started). */
  get movieId(): string | undefined {
    return this.#player === undefined ? undefined : this.#parts.movie.id;
  }

  /** Starts the player at the room's position, unless it runs already (each welcome calls this). */
  async start(): Promise<void> {
    if (this.#player !== undefined) return;
    const generation = this.#generation;
    const { api, room, movie, video, tracks, quality } = this.#parts;
    const manifest = await api.getSegmentManifest(movie.id);
    const { default: HlsPlayer } = await import('hls.js');
    if (this.#player !== undefined || generation !== this.#generation) return;
    const position = (room.roomPosition() ?? 0) / 1000;
    const preferences = loadPreferences();
    const player = createPlayer(HlsPlayer, video, movie, manifest, preferences, position, tracks.startingAudio());
    this.#player = player;
    tracks.bind(player.hls ?? video);
    quality.bind(player.hls, HlsPlayer);
    player.hls?.on(HlsPlayer.Events.FRAG_BUFFERED, () => this.#parts.buffered());
    player.engine.setFetchPlan(this.#fetchPlans, room.member);
    player.followRoomRendition(this.#rendition);
    this.bufferForRoom();
    // Sharing members split the room's HTTP fetching (the room answers with
    // its plan), and say again when the peers they cannot reach change.
    // The tracker id goes with it once the player has one: the others link to
    // the room's fetchers before they need their first segments. So does the
    // audio rendition the player loads: its listeners split its fetching.
    // What the player does, not only what was asked: a browser without WebRTC shares nothing.
    const shares = player.engine.config.p2p && preferences.upload;
    let said: SharingState = { unreachablePeers: 0 };
    room.share(shares, preferences.uploadBytesPerSec, said);
    player.engine.addEventListener('stats', (event) => {
      const { unreachablePeers, peerId, audioRendition } = (event as CustomEvent<P2PStats>).detail;
      const now: SharingState = { unreachablePeers, peer: peerId, ...(audioRendition === undefined ? {} : { audio: audioRendition }) };
      if (now.unreachablePeers === said.unreachablePeers && now.peer === said.peer && now.audio === said.audio) return;
      said = now;
      room.share(shares, preferences.uploadBytesPerSec, said);
    });
    this.#parts.started(player);
  }

  /**
   * The room plays another movie: this one's player goes (its swarms, its
   * links, the room's plan for it) and one for `movie` starts, with its own
   * track menus.
   */
  async switchMovie(movie: MovieDetail, tracks: RoomPlayerParts['tracks']): Promise<void> {
    this.#generation += 1;
    this.#player?.destroy();
    this.#player = undefined;
    this.#fetchPlans = { slots: [], fetchers: [] };
    this.#rendition = undefined;
    this.#parts.movie = movie;
    this.#parts.tracks = tracks;
    await this.start();
  }

  /** The room's plans: which member fetches each segment over HTTP, of the video and of each shared audio rendition. */
  setFetchPlan(plans: RoomFetchPlans): void {
    this.#fetchPlans = plans;
    this.#player?.engine.setFetchPlan(plans, this.#parts.room.member);
  }

  /** The rendition the room's sharing players load (undefined: each picks its own). */
  followRendition(level: number | undefined): void {
    this.#rendition = level;
    this.#player?.followRoomRendition(level);
  }

  /** While the room is paused, load only what is needed to start. */
  bufferForRoom(): void {
    this.#player?.waitForStart(this.#parts.room.playback?.playing !== true);
  }

  /** The movie steps aside (a file plays instead), or comes back. */
  aside(aside: boolean): void {
    const { video, subtitles } = this.#parts;
    video.hidden = aside;
    subtitles.hidden = aside;
    if (aside) {
      video.pause();
      this.#player?.stopLoad();
    } else {
      this.#player?.startLoad(video.currentTime);
    }
  }

  destroy(): void {
    // A start still loading gives up too.
    this.#generation += 1;
    this.#player?.destroy();
  }
}
