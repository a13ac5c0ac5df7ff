// A watch party: ask for a name (and the password when the room has one),
// join the room's socket, and play the movie with the P2P loader on the
// room's clock. Playback controls go to the room, never straight to the
// video, so everyone moves together; controls this member may not use are
// disabled with the reason. Around the player: the invite link, the video
// call, the people, the chat and the live P2P panel. A host may play a file
// from their own computer instead, streamed to everyone over WebRTC.
//
// A refusal that concerns the join itself (name taken, wrong password) goes
// back to the join form with the reason; a room that does not exist, or a
// member who was removed, gets a screen of its own (room-join.ts).
//
// This file wires the parts together: the room's socket feeds the player
// (room-player.ts), the playback bar (room-ui/playback-controls.ts), a file
// in the movie's place (room-ui/file-stream.ts) and the panels around them.
// When the room's queue moves on, the movie-bound parts (the player, the
// track menus) start again on the next movie; the room's socket, the call
// and the chat go on.
import { ApiError } from '../api/client';
import type { MovieDetail, RoomSummary } from '../api/types';
import { CallPanel } from '../call/call-panel';
import { MediaMesh } from '../call/media-mesh';
import { keepIceServersFresh } from '../api/ice-refresh';
import { rtcIceServers } from '../api/ice-servers';
import { fullscreenButton } from '../player/fullscreen-button';
import { pictureInPictureButton } from '../player/picture-in-picture';
import { keepScreenOn, type ScreenWakeLock } from '../player/wake-lock';
import { type PlayerHandle, webSocketUrl } from '../player/hls-player';
import { QualityMenu } from '../player/quality-menu';
import { SubtitleOverlay } from '../player/tracks/subtitle-overlay';
import { TrackMenus, type TrackSummary } from '../player/tracks/track-menus';
import type { ControlPolicy } from '../protocol/ControlPolicy';
import type { MemberTracks } from '../protocol/MemberTracks';
import type { StreamKind } from '../protocol/StreamKind';
import { ChatPanel } from '../room-ui/chat-panel';
import { FileStream } from '../room-ui/file-stream';
import { inviteBox } from '../room-ui/invite-box';
import { MembersPanel } from '../room-ui/members-panel';
import { P2PPanel } from '../room-ui/p2p-panel';
import { overlayToggles } from '../room-ui/fullscreen-overlays';
import { PlaybackControls, SEEK_STEP_MS } from '../room-ui/playback-controls';
import { QueuePanel } from '../room-ui/queue-panel';
import { SuggestTracksButton } from '../room-ui/suggest-tracks-button';
import { touchGestures } from '../room-ui/touch-gestures';
import { OriginFetchLog } from '../rooms/origin-fetches';
import { RoomClient } from '../rooms/room-client';
import { SyncController } from '../rooms/sync-controller';
import { h, mount } from '../ui/dom';
import { errorBox } from './catalog';
import type { Cleanup, PageContext } from './page';
import { askName, endingFor, JOIN_REFUSALS, type JoinAnswer, roomNotFound } from './room-join';
import { RoomPlayer } from './room-player';

declare global {
  interface Window {
    /** The page's room, sync, player and media, for debugging from the console (and for the browser tests). */
    cinemeshRoom?: { room: RoomClient; sync: SyncController; player: PlayerHandle | undefined; mesh: MediaMesh; wakeLock: ScreenWakeLock } | undefined;
  }
}

export function renderRoom(root: HTMLElement, id: string, ctx: PageContext): Cleanup {
  const abort = new AbortController();
  let leave: Cleanup = () => {};
  mount(root, h('p', { class: 'muted' }, 'Loading…'));
  // The player's library (the largest file of the page) loads while the guest picks a name.
  void import('hls.js').catch(() => {});
  void (async () => {
    let room: RoomSummary;
    let movie: MovieDetail;
    try {
      room = await ctx.api.getRoom(id, abort.signal);
      movie = await ctx.api.getMovie(room.movie_id, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return;
      if (error instanceof ApiError && error.status === 404) mount(root, roomNotFound());
      else mount(root, errorBox(error));
      return;
    }
    document.title = `${movie.title} · watch party · Cinemesh`;
    const ask = (previous?: JoinAnswer, problem?: string): void => {
      leave();
      askName(root, room, previous, problem, (answer) => {
        leave = enterRoom(root, room, movie, answer, ctx, {
          refused: (message) => ask(answer, message),
          ended: (screen) => {
            leave();
            leave = () => {};
            mount(root, screen);
          },
        });
      });
    };
    if (!abort.signal.aborted) ask();
  })();
  return () => {
    abort.abort();
    leave();
  };
}

interface RoomExits {
  /** The room refused the join (name taken, wrong password): ask again. */
  refused: (message: string) => void;
  /** The member cannot stay (removed, the room is gone): show this instead. */
  ended: (screen: HTMLElement) => void;
}

function enterRoom(root: HTMLElement, summary: RoomSummary, firstMovie: MovieDetail, answer: JoinAnswer, ctx: PageContext, exits: RoomExits): Cleanup {
  /** The movie the page plays: the room's, once its details came. */
  let movie = firstMovie;
  const video = h('video', { playsinline: true, muted: true, 'aria-label': movie.title });
  const banner = h('div', { class: 'banner', role: 'status', hidden: true });
  const status = h('span', { class: 'muted room-status', 'aria-live': 'polite' });
  const subtitles = new SubtitleOverlay(video);
  let tracks = new TrackMenus(movie, subtitles, (chosen) => sayTracks(chosen));
  const quality = new QualityMenu((level) => moviePlayer.handle?.chooseLevel(level));
  let callKinds: StreamKind[] = [];
  /** The languages the host suggests, for the track menus of each movie. */
  let suggestedTracks: MemberTracks | undefined;
  const typing = new Set<string>();

  const room = new RoomClient(webSocketUrl(summary.socket_path), answer.name, answer.password, {
    onIceServers: (servers) => {
      if (servers.length === 0) return;
      const rtc = rtcIceServers(servers);
      // A resumed welcome's resync restarts every link's ICE with them next.
      mesh.setIceServers(rtc, false);
      iceRefresh.took(rtc);
    },
    onWelcome: () => {
      banner.hidden = true;
      ctx.enteredRoom?.(summary.id, room.presencePass);
      chat.setMyName(room.members.find((m) => m.id === room.member)?.name ?? answer.name);
      for (const message of room.chat) chat.add(message);
      sayTracks(tracks.summary());
      // The room goes on without a picture (chat, call) where the movie cannot play.
      moviePlayer.start().catch((error: unknown) => {
        status.textContent = `The movie could not start: ${error instanceof Error ? error.message : String(error)}`;
      });
    },
    onPlayback: () => {
      sync.stateChanged();
      refreshControls();
      moviePlayer.bufferForRoom();
    },
    onMembers: (members, policy) => {
      membersPanel.update(room.member, members, policy);
      call.membersChanged(room.member, members);
      mesh.setMembers(room.member, members);
      refreshControls(policy);
      const names = members.filter((m) => typing.has(m.id)).map((m) => m.name);
      chat.typing(names);
    },
    onFetchPlan: (plans) => moviePlayer.setFetchPlan(plans),
    onNowPlaying: (playing) => void playMovie(playing.movie),
    onQueue: (view) => queuePanel.update(view),
    onHistory: (history) => queuePanel.history(history),
    // Sent to the members that share: only their buffers count.
    onSuggestedTracks: (suggested) => {
      suggestedTracks = suggested;
      tracks.suggest(suggested);
    },
    onRendition: (level) => moviePlayer.followRendition(level),
    onHealth: (members) => membersPanel.health(members),
    onBans: (bans) => membersPanel.bans(bans),
    onChat: (message) => chat.add(message),
    onReactions: (message, reactions) => chat.reactions(message, reactions),
    onTyping: (member, active) => {
      if (active) typing.add(member);
      else typing.delete(member);
      chat.typing(room.members.filter((m) => typing.has(m.id)).map((m) => m.name));
    },
    onSignal: (from, data) => mesh.receive(from, data),
    onError: (code, message, fatal) => {
      if (JOIN_REFUSALS.has(code)) {
        exits.refused(message);
        return;
      }
      const ending = endingFor(code, message, fatal);
      if (ending !== undefined) exits.ended(ending);
      else if (code === 'video_full') call.videoRefused(message);
      else {
        // A refused file (another one plays, playback control lost) stops; either way the member reads why.
        fileStream.refused(code);
        status.textContent = message;
      }
    },
    onReconnecting: (reconnecting) => {
      banner.hidden = !reconnecting;
      banner.textContent = reconnecting ? 'Connection lost; reconnecting…' : '';
      // Call signals sent while the socket was down are gone.
      if (!reconnecting) mesh.resync();
    },
  });
  room.sharedBytes = () => moviePlayer.handle?.engine.stats().uploadedBytes;
  room.playerBuffer = () => moviePlayer.handle?.bufferReport();
  room.playerMovie = () => moviePlayer.movieId;
  const originFetches = new OriginFetchLog(() => room.serverNow());
  room.originFetches = () => originFetches.take();
  let sync = new SyncController(video, room);

  const mesh = new MediaMesh((to, signal) => room.signal(to, signal), {
    onRemote: (member, label, stream, info) => {
      if (label === 'file') fileStream.showRemote(member, stream, info);
      else call.remote(member, label, stream);
    },
    onLinked: (pair) => room.callLinked(pair),
    onPathLost: () => room.probe(),
  }, { iceServers: rtcIceServers(movie.tracker.ice_servers) });
  // The call's TURN credentials expire: each welcome brings fresh ones made
  // for this member; between welcomes, the movie's details (made for the
  // page) do before they run out, and on resume.
  const iceRefresh = keepIceServersFresh(
    rtcIceServers(movie.tracker.ice_servers),
    async () => rtcIceServers((await ctx.api.getMovie(movie.id)).tracker.ice_servers),
    (servers) => mesh.setIceServers(servers),
  );
  const call = new CallPanel({
    mesh,
    setInCall: (joined) => room.setInCall(joined),
    onKinds: (kinds) => {
      callKinds = kinds;
      reportStreaming();
    },
  });
  const chat = new ChatPanel({
    say: (text) => room.say(text),
    react: (message, emoji) => room.send({ type: 'react', message, emoji }),
    typing: (active) => room.send({ type: 'typing', active }),
  });
  const membersPanel = new MembersPanel((message) => room.send(message));
  const p2p = new P2PPanel(() => moviePlayer.handle, () => room.originBytesPerSec);

  const moviePlayer = new RoomPlayer({
    api: ctx.api,
    room,
    movie,
    video,
    subtitles: subtitles.element,
    tracks,
    quality,
    started: (player) => {
      if (fileStream.showing) player.stopLoad();
      expose();
    },
    // A member says it is ready as soon as it is, not at the next tick: the
    // room's start waits for its last member (up to 200 ms of a start across
    // emulated homes went to that tick).
    buffered: () => sync.stateChanged(),
  });
  const fileStream = new FileStream({
    room,
    mesh,
    movie: video,
    movieAside: (aside) => moviePlayer.aside(aside),
    follow,
    streamingChanged: reportStreaming,
    controlsChanged: () => refreshControls(),
    say: (message) => (status.textContent = message),
  });
  const durationMs = (): number => fileStream.durationMs() ?? movie.duration_ms;
  const controls = new PlaybackControls(room, durationMs, () => sync, [fileStream.button, fileStream.picker]);
  const suggestButton = new SuggestTracksButton(movie, () => tracks, (message) => room.send(message));
  const queuePanel = new QueuePanel({
    send: (message) => room.send(message),
    search: async (query) => (await ctx.api.listMovies({ q: query, perPage: 100 })).movies,
    serverNow: () => room.serverNow(),
  });
  const playerBox = h('div', { class: 'player' }, video, subtitles.element, fileStream.remoteVideo, banner);
  const wakeLock = keepScreenOn(playerBox);
  const expose = (): void => {
    window.cinemeshRoom = { room, sync, player: moviePlayer.handle, mesh, wakeLock };
  };
  expose();

  const controlBar = controls.element;
  controlBar.classList.add('room-controls');
  controlBar.append(status);
  const roomBox = h('div', { class: 'room' },
    h('section', { class: 'room-main', 'aria-label': 'Player' },
      playerBox,
      controlBar,
      h('div', { class: 'player-bar' }, quality.element, tracks.element, suggestButton.element),
      inviteBox(`${location.origin}${summary.invite_path}`),
      call.element,
      queuePanel.element,
    ),
    h('aside', { class: 'room-side' }, membersPanel.element, chat.element, p2p.element),
  );
  mount(root, roomBox);
  // The party fills the screen: the picture, with the chat and the call over it.
  controlBar.append(fullscreenButton(roomBox), ...overlayToggles(roomBox), pictureInPictureButton(video));
  // Leaving fullscreen brings back what a tap hid, for the next time.
  roomBox.addEventListener('fullscreenchange', () => {
    if (document.fullscreenElement !== roomBox) roomBox.classList.remove('chrome-hidden');
  });
  const stopTouch = touchGestures(playerBox, {
    seekBy: (deltaMs) => controls.seekBy(deltaMs),
    tap: () => {
      if (document.fullscreenElement === roomBox) roomBox.classList.toggle('chrome-hidden');
    },
  }, SEEK_STEP_MS);

  /** Tells the room what this member hears and reads, for everyone's People panel. */
  function sayTracks(chosen: TrackSummary): void {
    room.setTracks({ ...(chosen.audio === undefined ? {} : { audio: chosen.audio }), ...(chosen.subtitles === undefined ? {} : { subtitles: chosen.subtitles }) });
  }

  /** The movie the room plays, as it last said; the page's may lag while the next one loads. */
  let wanted = movie.id;
  let closed = false;
  /** The movie the room plays now, if this page plays another: its details, then its player and track menus. */
  async function playMovie(id: string): Promise<void> {
    const already = wanted === id;
    wanted = id;
    if (already || id === movie.id) return;
    let next: MovieDetail;
    try {
      next = await ctx.api.getMovie(id);
    } catch (error) {
      if (wanted === id) wanted = movie.id;
      status.textContent = `The next movie could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    // The page was left, or the room moved on again meanwhile: that one wins.
    if (closed || wanted !== id) return;
    movie = next;
    document.title = `${movie.title} · watch party · Cinemesh`;
    video.setAttribute('aria-label', movie.title);
    const nextTracks = new TrackMenus(movie, subtitles, (chosen) => sayTracks(chosen));
    tracks.element.replaceWith(nextTracks.element);
    tracks.destroy();
    tracks = nextTracks;
    if (suggestedTracks !== undefined) tracks.suggest(suggestedTracks);
    suggestButton.setMovie(movie);
    originFetches.take();
    try {
      await moviePlayer.switchMovie(movie, tracks);
    } catch (error) {
      status.textContent = `The movie could not start: ${error instanceof Error ? error.message : String(error)}`;
      return;
    }
    if (closed || wanted !== id) return;
    sayTracks(tracks.summary());
    // A file in the movie's place keeps the room's clock.
    if (!fileStream.showing) follow(video);
  }

  /** Tells the room what this member streams: the call's camera, microphone, screen, and their own file. */
  function reportStreaming(): void {
    room.setStreaming(fileStream.streaming ? [...callKinds, 'file'] : callKinds);
  }

  /** Which video the room's clock drives: the movie, or the host's own file. */
  function follow(target: HTMLVideoElement | undefined): void {
    sync.stop();
    // A page showing someone's file stream has nothing of its own to keep in step.
    if (target !== undefined) sync = new SyncController(target, room);
    expose();
  }

  function refreshControls(policy?: ControlPolicy): void {
    const reason = controls.refresh(policy);
    queuePanel.setAllowed(reason === undefined);
    // Only someone who controls playback may put their own file in its place.
    fileStream.refresh(reason);
    suggestButton.update(room.members.find((m) => m.id === room.member)?.role === 'host');
  }

  return () => {
    closed = true;
    stopTouch();
    wakeLock.stop();
    // The floating picture would outlive its player.
    if (document.pictureInPictureElement === video) void document.exitPictureInPicture().catch(() => {});
    controls.close();
    fileStream.stopOwn();
    sync.stop();
    call.leave();
    iceRefresh.stop();
    mesh.close();
    chat.close();
    p2p.close();
    queuePanel.close();
    room.leave();
    originFetches.stop();
    moviePlayer.destroy();
    tracks.destroy();
    subtitles.destroy();
    window.cinemeshRoom = undefined;
  };
}
