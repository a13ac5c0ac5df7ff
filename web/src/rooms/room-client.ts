// The browser side of a room's socket, on the types generated from the Rust
// protocol crate: says hello (or resumes its seat after a drop, with backoff),
// keeps the clock offset to the server from pings, and tells the page about
// the playback state, the members and the chat.
import type { RoomFetchPlans } from '../p2p/types';
import type { BufferReport } from '../player/hls-player';
import type { BanView } from '../protocol/BanView';
import type { ChatMessage } from '../protocol/ChatMessage';
import type { ControlPolicy } from '../protocol/ControlPolicy';
import type { IcePair } from '../protocol/IcePair';
import type { IceServer } from '../protocol/IceServer';
import type { MemberHealth } from '../protocol/MemberHealth';
import type { MemberTracks } from '../protocol/MemberTracks';
import type { MemberView } from '../protocol/MemberView';
import type { OriginFetch } from '../protocol/OriginFetch';
import type { Reaction } from '../protocol/Reaction';
import type { PlaybackCommand } from '../protocol/PlaybackCommand';
import type { PlaybackState } from '../protocol/PlaybackState';
import type { RoomClientMessage } from '../protocol/RoomClientMessage';
import type { RoomServerMessage } from '../protocol/RoomServerMessage';
import type { NowPlaying } from '../protocol/NowPlaying';
import type { QueueView } from '../protocol/QueueView';
import type { StreamKind } from '../protocol/StreamKind';
import type { WatchedEntry } from '../protocol/WatchedEntry';
import { ReconnectingSocket } from '../net/reconnecting-socket';
import { ChatOutbox } from './chat-outbox';
import { ClockOffset } from './clock-offset';
import { applyChanges } from './roster';

export const ROOM_PROTOCOL_VERSION = 1;
/** Pings while the offset is being learnt, then at the steady pace, ms. */
const FAST_PING_MS = 150;
const FAST_PINGS = 8;
const PING_MS = 2_000;
/** Status reports go out when buffering changes, and at least this often, ms. */
const STATUS_EVERY_MS = 2_000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 8_000;
/** A ping unanswered this long means the path is gone (RTTs are well under a second). */
const PONG_DEADLINE_MS = 4_000;

/** What a sharing player says of itself besides its cap, again whenever it changes. */
export interface SharingState {
  /** Peers it tried lately and could not link to. */
  unreachablePeers: number;
  /** Its id on the movie's tracker, once it has one. */
  peer?: string;
  /** The audio rendition it loads beside the video, if the movie's audio has renditions of its own. */
  audio?: string;
}

export interface RoomEvents {
  onWelcome?: () => void;
  /** STUN/TURN servers for the call, with credentials made for this member: in each welcome, before anything else it sets off. */
  onIceServers?: (servers: IceServer[]) => void;
  onPlayback?: (state: PlaybackState, by: string | undefined) => void;
  onMembers?: (members: MemberView[], policy: ControlPolicy) => void;
  onChat?: (message: ChatMessage) => void;
  /** A message's reactions changed. */
  onReactions?: (message: number, reactions: Reaction[]) => void;
  /** Someone else started or stopped typing. */
  onTyping?: (member: string, active: boolean) => void;
  /** Everyone's sync health (buffering, offset), when it changed, and what
   * the origin serves the room's HTTP fetches at (bytes/s; undefined: not measured yet). */
  onHealth?: (members: MemberHealth[], originBytesPerSec: number | undefined) => void;
  /** The room's bans (the host only gets them). */
  onBans?: (bans: BanView[]) => void;
  /** Who fetches which segment for the room (empty: everyone for itself). */
  /** `fetchers`: the tracker ids of the members in `slots`, to link to before the movie starts. */
  onFetchPlan?: (plans: RoomFetchPlans) => void;
  /** The languages the host suggests for the room: in each welcome, and when the host changes them. */
  onSuggestedTracks?: (tracks: MemberTracks) => void;
  /** The rendition the room's sharing players load (an index from the lowest bitrate up). */
  onRendition?: (level: number) => void;
  /** The room plays another movie (after `onWelcome`, the one it plays, when the page may have another). */
  onNowPlaying?: (nowPlaying: NowPlaying, by: string | undefined) => void;
  /** The queue changed, or its countdown started or stopped (also in each welcome). */
  onQueue?: (queue: QueueView) => void;
  /** What the room watched changed (also in each welcome). */
  onHistory?: (history: WatchedEntry[]) => void;
  /** WebRTC signalling from another member (the call, a streamed file). */
  onSignal?: (from: string, data: unknown) => void;
  /** A refusal; `fatal` when the room will not have us (wrong password, name taken, kicked). */
  onError?: (code: string, message: string, fatal: boolean) => void;
  /** The socket dropped and a reconnect is under way (`true`), or it is back (`false`). */
  onReconnecting?: (reconnecting: boolean) => void;
}

const FATAL = new Set([
  'wrong_password',
  'too_many_attempts',
  'name_taken',
  'invalid_name',
  'kicked',
  'banned',
  'movie_deleted',
  'room_not_found',
  'unsupported_version',
]);

/** `position_ms` of a state at server time `serverMs`, never past `durationMs`. */
export function positionAt(state: PlaybackState, serverMs: number, durationMs = Number.POSITIVE_INFINITY): number {
  if (!state.playing || serverMs <= state.anchor_ms) return state.position_ms;
  return Math.min(durationMs, state.position_ms + (serverMs - state.anchor_ms) * state.rate);
}

export class RoomClient {
  readonly clock = new ClockOffset();
  member = '';
  /** Shows this page in the room in the lobby (`where`): from the welcome. */
  presencePass = '';
  playback: PlaybackState | undefined;
  members: MemberView[] = [];
  policy: ControlPolicy = 'host_only';
  readonly chat: ChatMessage[] = [];
  /** Bytes this page's player has uploaded to peers, reported with the status. */
  sharedBytes: (() => number | undefined) | undefined;
  /** What the origin serves the room's HTTP fetches at, bytes/s, as the room last said. */
  originBytesPerSec: number | undefined;
  /** Segments this page fetched over HTTP since the last status, reported with it. */
  originFetches: (() => OriginFetch[]) | undefined;
  /** A sharing player's buffer ahead and highest rendition, reported with the status. */
  playerBuffer: (() => BufferReport | undefined) | undefined;
  /** The movie this page's player plays, named in each status: one about a movie the room left does not count. */
  playerMovie: (() => string | undefined) | undefined;
  /** The movie the room plays, as the room last said. */
  nowPlaying: NowPlaying | undefined;
  readonly #name: string;
  readonly #password: string | undefined;
  readonly #events: RoomEvents;
  readonly #socket: ReconnectingSocket;
  #resumeToken: string | undefined;
  #pingTimer: ReturnType<typeof setTimeout> | undefined;
  #pings = 0;
  #lastStatus: { buffering: boolean; at: number } | undefined;
  /** Chat sent and not yet seen back: sent again after a reconnect. */
  readonly #outbox = new ChatOutbox();
  /** What this page says about itself (sharing, the call, what it streams),
   * said again after every (re)connection: a new socket starts from nothing. */
  readonly #standing = new Map<RoomClientMessage['type'], RoomClientMessage>();

  constructor(url: string, name: string, password: string | undefined, events: RoomEvents) {
    this.#name = name;
    this.#password = password;
    this.#events = events;
    this.#socket = new ReconnectingSocket({
      url,
      minDelayMs: RECONNECT_MIN_MS,
      maxDelayMs: RECONNECT_MAX_MS,
      onOpen: (send) => send(JSON.stringify(this.#hello())),
      onMessage: (text) => this.#receive(text),
      onDrop: () => {
        clearTimeout(this.#pingTimer);
        this.#events.onReconnecting?.(true);
      },
    });
  }

  /** The server's clock now, ms. */
  serverNow(): number {
    return this.clock.serverTime(Date.now());
  }

  /** Where the room is now, ms (undefined before the welcome). */
  roomPosition(): number | undefined {
    return this.playback === undefined ? undefined : positionAt(this.playback, this.serverNow());
  }

  control(command: PlaybackCommand): void {
    if (this.playback === undefined) return;
    this.#send({ type: 'control', based_on: this.playback.seq, command });
  }

  /** This player's state; sent when buffering changes and every couple of seconds. */
  status(buffering: boolean, offsetMs: number | undefined): void {
    const now = Date.now();
    const last = this.#lastStatus;
    if (last !== undefined && last.buffering === buffering && now - last.at < STATUS_EVERY_MS) return;
    this.#lastStatus = { buffering, at: now };
    const message: RoomClientMessage = { type: 'status', buffering };
    const movie = this.playerMovie?.();
    if (movie !== undefined) message.movie = movie;
    if (offsetMs !== undefined) message.offset_ms = Math.round(offsetMs);
    // The room schedules its starts far enough ahead for its slowest member to hear of them.
    const roundTrip = this.clock.roundTripMs;
    if (roundTrip !== undefined) message.rtt_ms = Math.round(roundTrip);
    const sharedBytes = this.sharedBytes?.();
    if (sharedBytes !== undefined) message.shared_bytes = sharedBytes;
    const fetches = this.originFetches?.() ?? [];
    if (fetches.length > 0) message.origin_fetches = fetches;
    const buffer = this.playerBuffer?.();
    if (buffer !== undefined) {
      message.ahead_secs = Math.round(buffer.aheadSecs * 10) / 10;
      message.top_level = buffer.topLevel;
    }
    this.#send(message);
  }

  /** Whether this player shares segments, its upload cap (bytes/s; undefined: none), and what `SharingState` says. */
  share(shares: boolean, uploadCap: number | undefined, state: SharingState = { unreachablePeers: 0 }): void {
    const message: RoomClientMessage = { type: 'sharing', shares, unreachable_peers: state.unreachablePeers };
    if (uploadCap !== undefined) message.upload_cap = uploadCap;
    if (state.peer !== undefined && state.peer !== '') message.peer = state.peer;
    if (state.audio !== undefined) message.audio = state.audio;
    this.#stand(message);
  }

  /** Joins or leaves the room's video call. */
  setInCall(joined: boolean): void {
    this.#stand({ type: 'call', joined });
  }

  /** What this member streams now (the call's media, a file). */
  setStreaming(kinds: StreamKind[]): void {
    this.#stand({ type: 'streaming', kinds });
  }

  /** What this member hears and reads (BCP 47 tags), for everyone's People panel; said again after a reconnect. */
  setTracks(tracks: MemberTracks): void {
    this.#stand({ type: 'tracks', ...tracks });
  }

  /** Tells the room what carried a call connection that connected (for its counters). */
  callLinked(pair: IcePair): void {
    this.#send({ type: 'call_linked', pair });
  }

  /** WebRTC signalling for another member; dropped while the socket is down (the mesh says it again on `resync`). */
  signal(to: string, data: unknown): void {
    this.#send({ type: 'signal', to, data });
  }

  #stand(message: RoomClientMessage): void {
    this.#standing.set(message.type, message);
    this.#send(message);
  }

  say(text: string): void {
    const { nonce } = this.#outbox.add(text);
    this.#send({ type: 'chat', text, nonce });
  }

  send(message: RoomClientMessage): void {
    this.#send(message);
  }

  /** Leaves for good. */
  leave(): void {
    this.#send({ type: 'leave' });
    this.close();
  }

  close(): void {
    clearTimeout(this.#pingTimer);
    this.#socket.close();
  }

  #send(message: RoomClientMessage): void {
    this.#socket.send(JSON.stringify(message));
  }

  /** A new member's hello, or the seat's, with the resume token, after a drop. */
  #hello(): RoomClientMessage {
    const hello: RoomClientMessage = { type: 'hello', version: ROOM_PROTOCOL_VERSION, name: this.#name };
    if (this.#password !== undefined) hello.password = this.#password;
    if (this.#resumeToken !== undefined) hello.resume = this.#resumeToken;
    return hello;
  }

  /**
   * Something else found a path broken (a call's link): ask the server now
   * rather than at the next ping, so a socket that died with it is replaced
   * at once (the server answers a dead connection's packets with a reset).
   */
  probe(): void {
    this.#send({ type: 'ping', t: Date.now() });
    this.#socket.expectAnswer(PONG_DEADLINE_MS);
  }

  #ping(): void {
    this.probe();
    this.#pings += 1;
    this.#pingTimer = setTimeout(() => this.#ping(), this.#pings < FAST_PINGS ? FAST_PING_MS : PING_MS);
  }

  #receive(text: string): void {
    let message: RoomServerMessage;
    try {
      message = JSON.parse(text) as RoomServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'welcome': {
        const resumed = this.#resumeToken !== undefined;
        this.member = message.member;
        this.#resumeToken = message.resume_token;
        this.presencePass = message.presence_pass;
        this.#socket.established();
        this.members = message.members;
        this.policy = message.policy;
        this.playback = message.playback;
        this.nowPlaying = message.now_playing;
        const known = new Set(this.chat.map((m) => m.id));
        for (const m of message.chat) if (!known.has(m.id)) this.chat.push(m);
        this.#pings = 0;
        clearTimeout(this.#pingTimer);
        this.#ping();
        // In the order they were first said: the call before what is streamed in it.
        for (const message of this.#standing.values()) this.#send(message);
        for (const { text, nonce } of this.#outbox.resend(message.chat)) this.#send({ type: 'chat', text, nonce });
        // Fresh servers first: a socket back after a network change restarts the call's ICE.
        // An instance from before ICE servers were in the welcome sends none.
        this.#events.onIceServers?.(message.ice_servers ?? []);
        if (resumed) this.#events.onReconnecting?.(false);
        this.#events.onWelcome?.();
        this.#events.onSuggestedTracks?.(message.suggested_tracks);
        this.#events.onMembers?.(message.members, message.policy);
        this.#events.onPlayback?.(message.playback, undefined);
        this.#events.onQueue?.(message.queue);
        this.#events.onHistory?.(message.history);
        if (message.now_playing !== undefined) this.#events.onNowPlaying?.(message.now_playing, undefined);
        break;
      }
      case 'now_playing':
        this.nowPlaying = message.now_playing;
        this.playback = message.state;
        this.#lastStatus = undefined;
        this.#events.onNowPlaying?.(message.now_playing, message.by);
        this.#events.onPlayback?.(message.state, message.by);
        break;
      case 'queue':
        this.#events.onQueue?.(message.queue);
        break;
      case 'history':
        this.#events.onHistory?.(message.history);
        break;
      case 'pong':
        this.clock.add(message.t, message.server_ms, Date.now());
        break;
      case 'playback':
        this.playback = message.state;
        this.#events.onPlayback?.(message.state, message.by);
        break;
      case 'members_changed':
        this.members = applyChanges(this.members, message.changed, message.left);
        this.policy = message.policy;
        this.#events.onMembers?.(this.members, message.policy);
        break;
      case 'chat':
        this.#outbox.echoed(message.message.nonce);
        this.chat.push(message.message);
        this.#events.onChat?.(message.message);
        break;
      case 'reactions': {
        const target = this.chat.find((m) => m.id === message.message);
        if (target !== undefined) target.reactions = message.reactions;
        this.#events.onReactions?.(message.message, message.reactions);
        break;
      }
      case 'typing':
        this.#events.onTyping?.(message.member, message.active);
        break;
      case 'health':
        this.originBytesPerSec = message.origin_bytes_per_sec ?? this.originBytesPerSec;
        this.#events.onHealth?.(message.members, message.origin_bytes_per_sec);
        break;
      case 'rendition':
        this.#events.onRendition?.(message.level);
        break;
      case 'fetch_plan':
        this.#events.onFetchPlan?.(message);
        break;
      case 'bans':
        this.#events.onBans?.(message.bans);
        break;
      case 'suggested_tracks':
        this.#events.onSuggestedTracks?.(message.tracks);
        break;
      case 'signal':
        this.#events.onSignal?.(message.from, message.data);
        break;
      case 'error': {
        const fatal = FATAL.has(message.code);
        if (fatal) this.close();
        this.#events.onError?.(message.code, message.message, fatal);
        break;
      }
    }
  }
}
