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
// member who was removed, gets a screen of its own.
import { ApiError } from '../api/client';
import type { MovieDetail, RoomSummary, SegmentManifest } from '../api/types';
import { CallPanel } from '../call/call-panel';
import { LocalFile } from '../call/local-file';
import { MediaMesh, type RemoteStreamInfo } from '../call/media-mesh';
import { formatDuration } from '../format';
import { NAME_CHOSEN_EVENT, NAME_KEY } from '../lobby/presence-panel';
import type { P2PStats } from '../p2p/types';
import { keepIceServersFresh } from '../api/ice-refresh';
import { rtcIceServers } from '../api/ice-servers';
import { fullscreenButton } from '../player/fullscreen-button';
import { createPlayer, type PlayerHandle, webSocketUrl } from '../player/hls-player';
import { loadPreferences } from '../player/preferences';
import { QualityMenu } from '../player/quality-menu';
import { SubtitleOverlay } from '../player/tracks/subtitle-overlay';
import { TrackMenus, type TrackSummary } from '../player/tracks/track-menus';
import type { ControlPolicy } from '../protocol/ControlPolicy';
import { MAX_NAME_CHARS } from '../protocol/limits';
import type { StreamKind } from '../protocol/StreamKind';
import { ChatPanel } from '../room-ui/chat-panel';
import { inviteBox } from '../room-ui/invite-box';
import { MembersPanel } from '../room-ui/members-panel';
import { P2PPanel } from '../room-ui/p2p-panel';
import { OriginFetchLog } from '../rooms/origin-fetches';
import { RoomClient } from '../rooms/room-client';
import { SyncController } from '../rooms/sync-controller';
import { h, mount } from '../ui/dom';
import { errorBox } from './catalog';
import type { Cleanup, PageContext } from './page';

declare global {
  interface Window {
    /** The page's room, sync, player and media, for debugging from the console (and for the browser tests). */
    cinemeshRoom?: { room: RoomClient; sync: SyncController; player: PlayerHandle | undefined; mesh: MediaMesh } | undefined;
  }
}

/** Refusals that send the member back to the join form, with the reason. */
const JOIN_REFUSALS = new Set(['wrong_password', 'too_many_attempts', 'name_taken', 'invalid_name']);

interface JoinAnswer {
  name: string;
  password: string | undefined;
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

function roomNotFound(): HTMLElement {
  return h(
    'div',
    { class: 'notice error', role: 'alert' },
    h('h1', {}, 'Room not found'),
    h('p', {}, 'This watch party does not exist, or its link is mistyped.'),
    h('a', { href: '/', class: 'button' }, 'Browse movies and start one'),
  );
}

function endScreen(title: string, text: string): HTMLElement {
  return h('div', { class: 'notice error', role: 'alert' }, h('h1', {}, title), h('p', {}, text), h('a', { href: '/', class: 'button' }, 'Back to the movies'));
}

function askName(root: HTMLElement, room: RoomSummary, previous: JoinAnswer | undefined, problem: string | undefined, join: (answer: JoinAnswer) => void): void {
  const name = h('input', {
    name: 'name',
    required: true,
    maxlength: MAX_NAME_CHARS,
    autocomplete: 'nickname',
    value: previous?.name ?? localStorage.getItem(NAME_KEY) ?? '',
  });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'join-form' },
    h('h1', {}, 'Join the watch party'),
    problem === undefined ? null : h('p', { class: 'notice error', role: 'alert' }, problem),
    h('label', {}, 'Your name ', name),
    room.has_password ? h('label', {}, 'Password ', password) : null,
    h('button', { type: 'submit' }, 'Join'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    localStorage.setItem(NAME_KEY, name.value.trim());
    window.dispatchEvent(new Event(NAME_CHOSEN_EVENT));
    join({ name: name.value, password: room.has_password ? password.value : undefined });
  });
  mount(root, form);
  name.focus();
}

interface RoomExits {
  /** The room refused the join (name taken, wrong password): ask again. */
  refused: (message: string) => void;
  /** The member cannot stay (removed, the room is gone): show this instead. */
  ended: (screen: HTMLElement) => void;
}

function enterRoom(root: HTMLElement, summary: RoomSummary, movie: MovieDetail, answer: JoinAnswer, ctx: PageContext, exits: RoomExits): Cleanup {
  const video = h('video', { playsinline: true, muted: true, 'aria-label': movie.title });
  const remoteFile = h('video', { class: 'remote-file', autoplay: true, playsinline: true, hidden: true });
  const banner = h('div', { class: 'banner', role: 'status', hidden: true });
  const playButton = h('button', { type: 'button', 'data-testid': 'play' }, 'Play');
  const seekBar = h('input', { type: 'range', min: 0, max: 1000, value: 0, 'aria-label': 'Position' });
  const clock = h('span', { class: 'muted clock' }, '0:00');
  const syncButton = h('button', { type: 'button', title: 'Put this player back on the room’s position' }, 'Sync now');
  const fileInput = h('input', { type: 'file', accept: 'video/*', hidden: true, 'aria-label': 'Video file from this computer' });
  const fileButton = h('button', { type: 'button' }, 'Play a file from this computer');
  const why = h('span', { class: 'muted control-reason' });
  const status = h('span', { class: 'muted room-status', 'aria-live': 'polite' });
  const subtitles = new SubtitleOverlay(video);
  const tracks = new TrackMenus(movie, subtitles, (chosen) => sayTracks(chosen));
  const quality = new QualityMenu((level) => player?.chooseLevel(level));
  const suggestButton = h('button', { type: 'button', hidden: true, title: 'Everyone who has not picked their own takes these' }, 'Suggest my languages to everyone');
  const playerBox = h('div', { class: 'player' }, video, subtitles.element, remoteFile, banner);

  let player: PlayerHandle | undefined;
  let fetchPlan: { slots: string[]; fetchers: string[] } = { slots: [], fetchers: [] };
  /** The rendition the room's sharing players load, as the room last said. */
  let roomRendition: number | undefined;
  /** The host's own file, while it plays instead of the movie. */
  let localFile: LocalFile | undefined;
  /** Someone's file this page shows instead of the movie. */
  let remoteFileFrom: { member: string; durationMs: number | undefined } | undefined;
  let callKinds: StreamKind[] = [];
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
      void startPlayer();
    },
    onPlayback: () => {
      sync.stateChanged();
      refreshControls();
      bufferForRoom();
    },
    onMembers: (members, policy) => {
      membersPanel.update(room.member, members, policy);
      call.membersChanged(room.member, members);
      mesh.setMembers(room.member, members);
      refreshControls(policy);
      const names = members.filter((m) => typing.has(m.id)).map((m) => m.name);
      chat.typing(names);
    },
    onFetchPlan: (slots, fetchers) => {
      fetchPlan = { slots, fetchers };
      player?.engine.setFetchPlan(slots, room.member, fetchers);
    },
    // Sent to the members that share: only their buffers count.
    onSuggestedTracks: (suggested) => tracks.suggest(suggested),
    onRendition: (level) => {
      roomRendition = level;
      player?.followRoomRendition(level);
    },
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
      if (JOIN_REFUSALS.has(code)) exits.refused(message);
      else if (code === 'kicked') exits.ended(endScreen('You were removed', 'The host removed you from this watch party.'));
      else if (code === 'banned') exits.ended(endScreen('You cannot join', 'The host removed you from this watch party.'));
      else if (code === 'movie_deleted') exits.ended(endScreen('This party has ended', 'Its movie was removed from the catalog.'));
      else if (code === 'room_not_found') exits.ended(roomNotFound());
      else if (fatal) exits.ended(endScreen('Could not join', `${message} (${code})`));
      else if (code === 'video_full') call.videoRefused(message);
      else if (code === 'file_in_use' || (code === 'not_allowed' && localFile !== undefined)) {
        stopLocalFile();
        status.textContent = message;
      } else status.textContent = message;
    },
    onReconnecting: (reconnecting) => {
      banner.hidden = !reconnecting;
      banner.textContent = reconnecting ? 'Connection lost; reconnecting…' : '';
      // Call signals sent while the socket was down are gone.
      if (!reconnecting) mesh.resync();
    },
  });
  room.sharedBytes = () => player?.engine.stats().uploadedBytes;
  room.playerBuffer = () => player?.bufferReport();
  const originFetches = new OriginFetchLog(() => room.serverNow());
  room.originFetches = () => originFetches.take();
  let sync = new SyncController(video, room);

  const mesh = new MediaMesh((to, signal) => room.signal(to, signal), {
    onRemote: (member, label, stream, info) => {
      if (label === 'file') showRemoteFile(member, stream, info);
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
  const p2p = new P2PPanel(() => player?.engine.stats(), () => room.originBytesPerSec);
  const expose = (): void => {
    window.cinemeshRoom = { room, sync, player, mesh };
  };
  expose();

  const controlBar = h('div', { class: 'player-bar' }, playButton, seekBar, clock, syncButton, fileButton, fileInput, why, status);
  const roomBox = h('div', { class: 'room' },
    h('section', { class: 'room-main', 'aria-label': 'Player' },
      playerBox,
      controlBar,
      h('div', { class: 'player-bar' }, quality.element, tracks.element, suggestButton),
      inviteBox(`${location.origin}${summary.invite_path}`),
      call.element,
    ),
    h('aside', { class: 'room-side' }, membersPanel.element, chat.element, p2p.element),
  );
  mount(root, roomBox);
  // The party fills the screen with its chat beside the picture.
  controlBar.append(fullscreenButton(roomBox));

  async function startPlayer(): Promise<void> {
    if (player !== undefined) return;
    const manifest: SegmentManifest = await ctx.api.getSegmentManifest(movie.id);
    const { default: HlsPlayer } = await import('hls.js');
    if (player !== undefined) return;
    const position = (room.roomPosition() ?? 0) / 1000;
    const preferences = loadPreferences();
    player = createPlayer(HlsPlayer, video, movie, manifest, preferences, position, tracks.startingAudio());
    tracks.bind(player.hls);
    quality.bind(player.hls, HlsPlayer);
    player.engine.setFetchPlan(fetchPlan.slots, room.member, fetchPlan.fetchers);
    player.followRoomRendition(roomRendition);
    bufferForRoom();
    // Sharing members split the room's HTTP fetching (the room answers with
    // its plan), and say again when the peers they cannot reach change.
    // The tracker id goes with it once the player has one: the others link to
    // the room's fetchers before they need their first segments.
    const shares = preferences.p2p && preferences.upload;
    let said = { unreachable: 0, peer: '' };
    room.share(shares, preferences.uploadBytesPerSec, said.unreachable);
    player.engine.addEventListener('stats', (event) => {
      const { unreachablePeers, peerId } = (event as CustomEvent<P2PStats>).detail;
      if (unreachablePeers === said.unreachable && peerId === said.peer) return;
      said = { unreachable: unreachablePeers, peer: peerId };
      room.share(shares, preferences.uploadBytesPerSec, said.unreachable, said.peer);
    });
    if (localFile !== undefined || remoteFileFrom !== undefined) player.hls.stopLoad();
    expose();
  }

  /** Tells the room what this member hears and reads, for everyone's People panel. */
  function sayTracks(chosen: TrackSummary): void {
    room.setTracks({ ...(chosen.audio === undefined ? {} : { audio: chosen.audio }), ...(chosen.subtitles === undefined ? {} : { subtitles: chosen.subtitles }) });
  }

  function bufferForRoom(): void {
    player?.waitForStart(room.playback?.playing !== true);
  }

  function reportStreaming(): void {
    room.setStreaming(localFile === undefined ? callKinds : [...callKinds, 'file']);
  }

  /** Which video the room's clock drives: the movie, or the host's own file. */
  function follow(target: HTMLVideoElement | undefined): void {
    sync.stop();
    // A page showing someone's file stream has nothing of its own to keep in step.
    if (target !== undefined) sync = new SyncController(target, room);
    expose();
  }

  /** The movie steps aside (a file plays instead), or comes back. */
  function movieAside(aside: boolean): void {
    video.hidden = aside;
    subtitles.element.hidden = aside;
    if (aside) {
      video.pause();
      player?.hls.stopLoad();
    } else {
      player?.hls.startLoad(video.currentTime);
    }
  }

  async function startLocalFile(file: File): Promise<void> {
    let opened: LocalFile;
    try {
      opened = await LocalFile.open(file);
    } catch (error) {
      status.textContent = error instanceof Error ? error.message : 'The file could not be played.';
      return;
    }
    stopLocalFile();
    localFile = opened;
    playerBox.insertBefore(opened.video, remoteFile);
    movieAside(true);
    follow(opened.video);
    mesh.setOutgoing('file', { stream: opened.stream, audience: 'room', durationMs: opened.durationMs });
    // Tracks appear as the file plays (sound once it starts): send them as they come.
    opened.stream.addEventListener('addtrack', () => mesh.refresh());
    reportStreaming();
    // Everyone starts the file from its beginning.
    room.control({ action: 'seek', position_ms: 0 });
    fileButton.textContent = `Stop playing ${opened.name}`;
    refreshControls();
  }

  function stopLocalFile(): void {
    if (localFile === undefined) return;
    localFile.close();
    localFile = undefined;
    mesh.setOutgoing('file', undefined);
    reportStreaming();
    movieAside(false);
    follow(video);
    fileButton.textContent = 'Play a file from this computer';
    refreshControls();
  }

  function showRemoteFile(member: string, stream: MediaStream | undefined, info: RemoteStreamInfo | undefined): void {
    if (stream === undefined) {
      if (remoteFileFrom?.member !== member) return;
      remoteFileFrom = undefined;
      remoteFile.srcObject = null;
      remoteFile.hidden = true;
      movieAside(false);
      follow(video);
      return;
    }
    const wasShowing = remoteFileFrom !== undefined;
    remoteFileFrom = { member, durationMs: info?.durationMs };
    if (remoteFile.srcObject !== stream) remoteFile.srcObject = stream;
    remoteFile.hidden = false;
    void remoteFile.play().catch(() => {});
    if (!wasShowing) {
      movieAside(true);
      follow(undefined);
    }
  }

  const durationMs = (): number => localFile?.durationMs ?? remoteFileFrom?.durationMs ?? movie.duration_ms;

  function mayControl(policy: ControlPolicy = room.policy): string | undefined {
    const me = room.members.find((m) => m.id === room.member);
    if (me === undefined) return 'Not in the room yet';
    if (policy === 'everyone' || me.role === 'host') return undefined;
    if (policy === 'cohosts' && me.role === 'cohost') return undefined;
    return policy === 'cohosts' ? 'Only the host and co-hosts control playback' : 'Only the host controls playback';
  }

  function refreshControls(policy?: ControlPolicy): void {
    const reason = mayControl(policy);
    playButton.disabled = seekBar.disabled = reason !== undefined;
    // Only someone who controls playback may put their own file in its place.
    const streamingFile = room.members.some((m) => m.id !== room.member && m.streaming.includes('file'));
    fileButton.disabled = localFile === undefined && (reason !== undefined || streamingFile);
    fileButton.title = reason ?? (streamingFile ? 'Someone is streaming a file already' : '');
    why.textContent = reason ?? '';
    const hasChoices = movie.audio_tracks.length > 1 || movie.subtitles.length > 0;
    suggestButton.hidden = !hasChoices || room.members.find((m) => m.id === room.member)?.role !== 'host';
    playButton.textContent = room.playback?.playing === true ? 'Pause' : 'Play';
  }

  function togglePlay(): void {
    if (playButton.disabled) return;
    const position_ms = room.roomPosition() ?? 0;
    room.control(room.playback?.playing === true ? { action: 'pause', position_ms } : { action: 'play', position_ms });
  }

  playButton.addEventListener('click', togglePlay);
  seekBar.addEventListener('change', () => {
    room.control({ action: 'seek', position_ms: (Number(seekBar.value) / 1000) * durationMs() });
  });
  syncButton.addEventListener('click', () => sync.resync());
  suggestButton.addEventListener('click', () => {
    const { audio, subtitles } = tracks.summary();
    room.send({ type: 'suggest_tracks', ...(audio === undefined ? {} : { audio }), ...(subtitles === undefined ? {} : { subtitles }) });
  });
  fileButton.addEventListener('click', () => {
    if (localFile !== undefined) stopLocalFile();
    else fileInput.click();
  });
  fileInput.addEventListener('change', () => {
    const file = fileInput.files?.[0];
    fileInput.value = '';
    if (file !== undefined) void startLocalFile(file);
  });
  // Space or K plays and pauses, unless typing or on another control.
  const onKey = (event: KeyboardEvent): void => {
    const target = event.target as HTMLElement | null;
    if (target?.closest('input, textarea, select, button, summary, [contenteditable]') !== null && target !== null) return;
    if (event.key === ' ' || event.key === 'k') {
      event.preventDefault();
      togglePlay();
    }
  };
  document.addEventListener('keydown', onKey);
  const display = setInterval(() => {
    const position = room.roomPosition() ?? 0;
    clock.textContent = `${formatDuration(position)} / ${formatDuration(durationMs())}`;
    if (document.activeElement !== seekBar && durationMs() > 0) seekBar.value = String(Math.round((position / durationMs()) * 1000));
  }, 500);

  return () => {
    clearInterval(display);
    document.removeEventListener('keydown', onKey);
    stopLocalFile();
    sync.stop();
    call.leave();
    iceRefresh.stop();
    mesh.close();
    chat.close();
    p2p.close();
    room.leave();
    originFetches.stop();
    player?.destroy();
    tracks.destroy();
    subtitles.destroy();
    window.cinemeshRoom = undefined;
  };
}
