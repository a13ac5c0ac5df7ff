// The P2P side of the loader: for one movie, it keeps the segment cache, the
// presence on the tracker, the peer connections and the counters. The hls.js
// loader asks it for each segment (`fromPeers`) and tells it what came over
// HTTP (`httpLoaded`); it answers with bytes that passed SHA-256
// verification, or with the reason to use HTTP.
import type { SegmentManifest } from '../api/types';
import { downloadBeforeDeadline, type GivenUp } from './deadline-download';
import { HolderLookup } from './holder-lookup';
import { LoadingThroughput } from './loading-throughput';
import { PeerPool } from './peer-pool';
import { PeerPrefetch, type TransferAhead } from './peer-prefetch';
import { PeerOutlook } from './peer-outlook';
import { PeerSilence } from './peer-silence';
import type { PlayerWindow } from './player-window';
import { TokenBucket } from './rate-limiter';
import { RoomPlan, type RoomPlanHooks } from './room-plan';
import { RoomPrefetch } from './room-prefetch';
import { SegmentCache } from './segment-cache';
import { SegmentIndex } from './segment-index';
import { StepSplit } from './swarm-split';
import { type AbandonPolicy, chooseSource, DEFAULT_ABANDON, DEFAULT_POLICY, startsInitialChunk } from './source-choice';
import { TrackerSession } from './tracker-session';
import { TransferCounters } from './transfer-counters';
import type { HttpReason, P2PConfig, P2PStats, RoomFetchPlans, SegmentLoaded } from './types';
import { verifySegment } from './verify';

/** Holders tried for one segment before HTTP. */
const MAX_ATTEMPTS = 2;
const STATS_EVERY_MS = 1_000;
const TRACKER_STATS_EVERY_MS = 5_000;
/**
 * A transfer the player waits for keeps no reserve for HTTP: it is given up
 * when it stops moving (sooner than others), or when it crawls far slower
 * than HTTP would bring the rest (the HTTP rate is added per transfer).
 */
const URGENT_ABANDON = { ...DEFAULT_ABANDON, stallSecs: 1, httpReserveSecs: Number.NEGATIVE_INFINITY };
/** Holders connected to in the background when a lookup names them, at most. */
const WARM_UP_PEERS = 2;
/** Segments behind / ahead of the playhead pinned in the cache. */
const PIN_BEHIND = 2;
const PIN_AHEAD = 15;
/**
 * While every peer attempt fails lately (peer-outlook.ts), a load needed within
 * this many seconds goes to HTTP at once: below it, a failed wait of a few
 * seconds leaves the player too little to fetch it and the next ones in time, s.
 */
const THIN_BUFFER_SECS = 10;
/**
 * A peer attempt (a wait for a room fetcher's copy, a connection, a transfer)
 * that took this long and brought nothing counts against peers; one refused
 * at once cost the player nothing, ms.
 */
const COSTLY_ATTEMPT_MS = 1_000;
/** What an empty wait for a room fetcher's copy counts against, in the outlook. */
const ROOM_FETCHER_WAIT = 'room fetcher';
/** The player's own load of a segment is taken to be under way this long after it asked, ms. */
const LOADING_FRESH_MS = 10_000;

const segmentKey = (rendition: string, sequence: number): string => `${rendition}/${sequence}`;

/** The start of a segment a peer sent before its transfer was given up. */
export interface PeerHead {
  bytes: Uint8Array;
  peer: string;
}

export type PeerResult =
  | { bytes: Uint8Array; source: 'peer'; peer: string }
  | { bytes: Uint8Array; source: 'cache' }
  /** `head`: HTTP need only fetch the rest (a byte range) and hand both to `completeOverHttp`. */
  | { fallback: HttpReason; head?: PeerHead };

export interface EngineInit {
  movie: string;
  manifest: SegmentManifest;
  /** Absolute WebSocket URL of the tracker and the catalog's token for this movie. */
  trackerUrl: string;
  token: string;
  config: P2PConfig;
  /** The player's position, seconds. */
  playhead: () => number;
  /** Seconds the player holds buffered from its position on. */
  bufferedAhead: () => number;
  /** Seconds the player buffers ahead, now: the window a room member fetches its planned segments in. */
  aheadSecs: () => number;
}

export class P2PEngine extends EventTarget {
  readonly config: P2PConfig;
  readonly index: SegmentIndex;
  readonly cache: SegmentCache;
  /** What hls.js is told about loads that had no HTTP timings of their own. */
  readonly throughput = new LoadingThroughput();
  /** HTTP's rate alone: a transfer the player waits on is held against it. */
  readonly #httpThroughput = new LoadingThroughput();
  readonly #init: EngineInit;
  readonly #session: TrackerSession | undefined;
  readonly #pool: PeerPool;
  readonly #holders: HolderLookup;
  readonly #counters = new TransferCounters();
  readonly #prefetch: RoomPrefetch | undefined;
  /** The room's fetches ahead of the audio rendition this player loads, under its own plan. */
  readonly #audioPrefetch: RoomPrefetch | undefined;
  readonly #peerPrefetch: PeerPrefetch | undefined;
  /** Segments the player asked for, and when: a transfer ahead leaves them alone. */
  readonly #loading = new Map<string, number>();
  /** Segments fetched from a peer ahead of the player, and from whom, until the player takes them. */
  readonly #fetchedAhead = new Map<string, string>();
  /** Segment URLs by rendition, from the playlists the player loaded. */
  readonly #urls = new Map<string, string[]>();
  #initialChunkFrom = 0;
  /** The room's fetch plan: who fetches segment n over HTTP for everyone, and how long the others wait. */
  readonly #plan: RoomPlan;
  /** The same for the audio rendition the player loads, among the members who play it too. */
  readonly #audioPlan: RoomPlan;
  /** The room's plans as it last said, and this member's id in it. */
  #roomPlans: { plans: RoomFetchPlans; me: string } = { plans: { slots: [], fetchers: [] }, me: '' };
  /** The audio rendition the player loads beside the video (undefined: none, or the audio is muxed). */
  #audioRendition: string | undefined;
  /** Without a room plan: the viewers in step with this one split the segments ahead. */
  readonly #split: StepSplit;
  /** Peers whose last transfers to this page went without progress. */
  readonly #silence = new PeerSilence();
  readonly #outlook = new PeerOutlook();
  #currentRendition: string | undefined;
  readonly #timers: ReturnType<typeof setInterval>[] = [];

  constructor(init: EngineInit) {
    super();
    this.#init = init;
    this.config = init.config;
    this.index = new SegmentIndex(init.manifest);
    if (init.config.p2p) {
      this.#session = new TrackerSession({
        url: init.trackerUrl,
        token: init.token,
        movie: init.movie,
        holdings: (rendition) => this.cache.holdings(rendition),
        onSignal: (rendition, from, signal, lane) => this.#pool.signalled(rendition, from, signal, lane),
      });
      void this.#session.start().catch(() => {});
    }
    this.cache = new SegmentCache({
      capacityBytes: init.config.cacheMiB * 1024 * 1024,
      onAdded: (rendition, sequence) => this.#session?.holdingChanged(rendition, sequence, true),
      onDropped: (rendition, sequence) => {
        this.#fetchedAhead.delete(segmentKey(rendition, sequence));
        this.#session?.holdingChanged(rendition, sequence, false);
      },
    });
    this.#pool = new PeerPool({
      config: init.config,
      localId: () => this.#session?.peerId ?? '',
      sendSignal: (rendition, peer, signal, lane) => this.#session?.signal(rendition, peer, signal, lane),
      onLinked: (rendition, pair) => this.#session?.linked(rendition, pair),
      provide: (segment) => (this.config.upload ? this.cache.get(segment.rendition, segment.sequence) : undefined),
      uploadBucket: new TokenBucket(init.config.uploadBytesPerSec),
      onUploaded: (bytes, segment) => {
        this.#counters.of(segment.rendition).uploaded += bytes;
      },
      onBanned: (rendition, peer, reason) => this.#session?.report(rendition, peer, reason),
    });
    this.#holders = new HolderLookup({
      whoHas: async (rendition, from, count) => (await this.#session?.whoHas(rendition, from, count)) ?? [],
      usable: (peer) => this.#pool.usable(peer),
      score: (peer) => this.#pool.score(peer),
    });
    const planHooks: RoomPlanHooks = {
      me: () => this.#session?.peerId ?? '',
      isOpen: (peer) => this.#pool.isOpen(peer),
      usable: (peer) => this.#pool.usable(peer),
      linkedOrLinking: (peer) => this.#pool.get(peer) !== undefined,
      connect: (peer, rendition) => void this.#pool.connect(peer, rendition, this.config.connectTimeoutMs).catch(() => {}),
      silent: (peer) => this.#silence.silent(peer),
      awaitHolders: (...args) => this.#holders.awaitHolders(...args),
      playerHoldsData: () => init.bufferedAhead() > 0,
      httpDeadlineSecs: () => this.config.httpDeadlineSecs,
    };
    this.#plan = new RoomPlan(planHooks);
    this.#audioPlan = new RoomPlan(planHooks);
    const player: PlayerWindow = {
      index: this.index,
      cache: this.cache,
      rendition: () => this.#currentRendition,
      playhead: init.playhead,
      bufferedTo: () => init.playhead() + init.bufferedAhead(),
      aheadSecs: init.aheadSecs,
    };
    this.#split = new StepSplit({
      ...player,
      me: () => this.#session?.peerId ?? '',
      active: () => !this.#plan.active,
      inStep: (rendition, playing, heldTo, lastWanted, slack) => this.#holders.inStep(rendition, playing, heldTo, lastWanted, slack),
      linked: (peer) => this.#pool.isOpen(peer),
      warmUp: (peers, rendition) => this.#warmUp(peers, rendition),
      // A room's plan decides alone whether this member fetches ahead.
      onSplitting: (splitting) => {
        if (!this.#plan.active) this.#prefetch?.setEnabled(splitting);
      },
    });
    if (this.#session !== undefined && init.config.upload) {
      const prefetchHooks = {
        ...player,
        urlOf: (rendition: string, sequence: number) => this.#urls.get(rendition)?.[sequence],
        heldByPeers: async (rendition: string, sequence: number) => (await this.#holders.holdersOf(rendition, sequence)).length > 0,
        onPartial: (rendition: string, bytes: number) => {
          this.#counters.of(rendition).http += bytes;
        },
        loading: (rendition: string, sequence: number) => this.#playerLoading(rendition, sequence),
      };
      this.#prefetch = new RoomPrefetch({
        ...prefetchHooks,
        // The room's rendition from the moment the room names it: its players
        // switch from their next load on, so what they ask for next is of that
        // rendition (at a switch up, each member used to fetch the first
        // segment of the new rendition itself, waiting for nobody).
        rendition: () => this.#plan.rendition ?? this.#currentRendition,
        mine: (sequence) => this.#plannedFetcher(sequence) === 'me',
        onFetched: (rendition, _sequence, bytes, ms) => {
          // Timed as it is, shared with the whole room: counting the other
          // members' fetches in (the room gets N segments per fetch time)
          // made single members switch up alone, away from the swarm.
          this.#counters.of(rendition).http += bytes;
          this.#counters.wentToHttp('assigned');
          this.httpTimed(bytes, ms);
        },
      });
      this.#audioPrefetch = new RoomPrefetch({
        ...prefetchHooks,
        rendition: () => this.#audioPlan.rendition,
        mine: (sequence) => this.#audioPlan.fetcherOf(sequence) === 'me',
        // Small audio segments time the origin's latency more than its rate: the video's alone are timed.
        onFetched: (rendition, _sequence, bytes) => {
          this.#counters.of(rendition).http += bytes;
          this.#counters.wentToHttp('assigned');
        },
      });
    }
    if (this.#session !== undefined) {
      this.#peerPrefetch = new PeerPrefetch({
        ...player,
        minLeadSecs: () => this.config.httpDeadlineSecs,
        holdersOf: (rendition, sequence) => this.#holders.holdersOf(rendition, sequence, false, true),
        idle: (peer) => this.#pool.hasFreeLane(peer),
        lanes: (peer) => this.#pool.openLaneCount(peer),
        warmUp: (peers, rendition) => this.#warmUp(peers, rendition),
        loading: (rendition, sequence) =>
          this.#prefetch?.fetching(rendition, sequence) === true ||
          this.#audioPrefetch?.fetching(rendition, sequence) === true ||
          this.#playerLoading(rendition, sequence),
        download: async (peer, rendition, sequence, signal, onProgress) => {
          const info = this.index.get(rendition, sequence);
          const until = (): number => (info?.startSecs ?? 0) - this.#init.playhead();
          const outcome = await this.#downloadFrom(peer, rendition, sequence, until, signal, false, onProgress);
          if (outcome instanceof Uint8Array) this.cache.put(rendition, sequence, outcome);
          return outcome;
        },
        onFetched: (rendition, sequence, peer) => this.#fetchedAhead.set(segmentKey(rendition, sequence), peer),
      });
    }
    this.#timers.push(setInterval(() => this.#tick(), STATS_EVERY_MS));
    if (this.#session !== undefined) {
      this.#timers.push(setInterval(() => this.#reportToTracker(), TRACKER_STATS_EVERY_MS));
    }
  }

  /**
   * In a room, members share a playhead: the room names, per segment, the
   * member who fetches it over HTTP (`slots[n % slots.length]`); the others
   * wait for it to hold it and take it over P2P. Empty slots: no plan. An
   * audio rendition several members play has a plan of its own among them.
   */
  setFetchPlan(plans: RoomFetchPlans, me: string): void {
    this.#roomPlans = { plans, me };
    this.#plan.set(plans.slots, me, plans.fetchers);
    this.#prefetch?.setEnabled(this.#plan.fetchesForRoom || (!this.#plan.active && this.#split.splitting));
    if (this.#currentRendition !== undefined) this.#plan.linkToFetchers(this.#currentRendition);
    this.#followAudioPlan();
  }

  /** The plan of the audio rendition the player loads now, if the room has one. */
  #followAudioPlan(): void {
    const { plans, me } = this.#roomPlans;
    const audio = this.#audioRendition;
    const plan = audio === undefined ? undefined : plans.audio?.[audio];
    this.#audioPlan.set(plan?.slots ?? [], me, plan?.fetchers ?? []);
    this.#audioPlan.rendition = plan === undefined ? undefined : audio;
    this.#audioPrefetch?.setEnabled(this.#audioPlan.fetchesForRoom);
    if (plan !== undefined && audio !== undefined) this.#audioPlan.linkToFetchers(audio);
  }

  /**
   * The rendition the room has its sharing players load: its fetchers fetch
   * that one, so a segment of it is worth waiting for even before anyone
   * holds one (after the room changed renditions, or at the start).
   */
  setRoomRendition(rendition: string | undefined): void {
    this.#plan.rendition = rendition;
  }

  /** The segment URLs of a rendition's playlist, as the player loaded it. */
  setSegmentUrls(rendition: string, urls: string[]): void {
    this.#urls.set(rendition, urls);
  }

  /**
   * Who fetches `sequence` over HTTP: the room's plan, or without one the
   * split among viewers in step, only for a segment not needed yet (`early`;
   * the player's own loads, and `mine` for fetches ahead). Nothing makes a
   * viewer in step keep its share after a seek or a switch, so a segment
   * needed now is not left waiting on one.
   */
  #plannedFetcher(sequence: number, early = true): 'me' | 'other' | undefined {
    if (this.#plan.active) return this.#plan.fetcherOf(sequence);
    return early ? this.#split.owner(sequence) : undefined;
  }

  /** The plan a segment of `rendition` loads under: the audio rendition's own, or the room's. */
  #planOf(rendition: string): RoomPlan {
    return this.index.isAudio(rendition) ? this.#audioPlan : this.#plan;
  }

  /**
   * The player started at, or seeked from `from` to, `position`: after a
   * jump the next seconds come over HTTP; a nudge keeps the current window.
   */
  seeked(position: number, from?: number): void {
    if (!startsInitialChunk(from, position, this.config.initialChunkSecs)) return;
    this.#initialChunkFrom = position;
    this.#split.reset();
  }

  /** A segment of `rendition` from the cache or from peers, or why to use HTTP instead. */
  /** `onProgress`: bytes of a peer transfer received so far, while it runs. */
  async fromPeers(
    rendition: string,
    sequence: number,
    signal: AbortSignal,
    onProgress: (received: number) => void = () => {},
  ): Promise<PeerResult> {
    // An audio track's segments load beside the video's: the room's plan of
    // the video, the split of the segments ahead among viewers in step and
    // the fetching ahead from peers follow the video. An audio rendition has
    // a plan of its own when other members of the room play it too.
    const audio = this.index.isAudio(rendition);
    if (!audio) this.#currentRendition = rendition;
    else if (rendition !== this.#audioRendition) {
      this.#audioRendition = rendition;
      this.#followAudioPlan();
    }
    const plan = this.#planOf(rendition);
    const id = segmentKey(rendition, sequence);
    const cached = this.cache.get(rendition, sequence);
    if (cached !== undefined) {
      // Fetched from a peer ahead of the player: counted as that peer's.
      const peer = this.#fetchedAhead.get(id);
      this.#fetchedAhead.delete(id);
      this.#delivered({ rendition, sequence, bytes: cached.length, ...(peer === undefined ? { source: 'cache' } : { source: 'peer', peer }) });
      return { bytes: cached, source: 'cache' };
    }
    const info = this.index.get(rendition, sequence);
    if (info === undefined || this.#session === undefined) return this.#fallback('p2p_off');
    this.#loading.set(id, performance.now());
    signal.addEventListener('abort', () => this.#loading.delete(id), { once: true });
    const ahead = this.#peerPrefetch?.join(rendition, sequence);
    if (ahead !== undefined) return this.#joinTransferAhead(ahead, rendition, sequence, signal, onProgress);
    void this.#session.join(rendition).catch(() => {});
    plan.linkToFetchers(rendition);
    const until = (): number => info.startSecs - this.#init.playhead();
    const inInitialChunk =
      info.startSecs + info.durationSecs > this.#initialChunkFrom &&
      info.startSecs < this.#initialChunkFrom + this.config.initialChunkSecs;
    const early = !inInitialChunk && until() >= this.config.httpDeadlineSecs;
    const planned = audio ? this.#audioPlan.fetcherOf(sequence) : this.#plannedFetcher(sequence, early);
    const prefetch = audio ? this.#audioPrefetch : this.#prefetch;
    // The room's fetcher of a segment still takes it from a peer that already
    // holds it (one that joined earlier, or fetched it under the plan before a
    // join changed it): HTTP only when nobody has it.
    const heldByPeers = planned === 'me' && early ? await this.#holders.holdersOf(rendition, sequence) : [];
    if (planned === 'me' && prefetch !== undefined && heldByPeers.length === 0 && !signal.aborted) {
      // This member fetches it for the room: that one fetch serves the player too.
      const fetched = await prefetch.fetchNow(rendition, sequence, signal);
      if (fetched !== undefined) {
        this.#delivered({ rendition, sequence, bytes: fetched.length, source: 'http', reason: 'assigned' });
        return { bytes: fetched, source: 'cache' };
      }
    }
    // In a room, a segment another member fetches for everyone is waited for
    // even when the player needs it now (a start or a seek): that member
    // fetches it at once, and so every member fetches a different segment.
    const urgentFromRoom = !early && planned === 'other';
    // Peers served nothing lately: a load that would wait on them, and that the
    // buffer cannot afford to wait for, goes to HTTP at once.
    const wouldWait = planned === 'other' || early;
    if (wouldWait && until() < THIN_BUFFER_SECS && this.#outlook.failing()) return this.#fallback('peers_failing');
    const lookedAt = performance.now();
    const fetcherLinked = plan.fetcherLinked();
    const found = await this.#findHolders(rendition, sequence, planned, early, until, signal);
    // A wait for the room fetcher's copy that brought nobody, with no link to a
    // fetcher that works: the peers' failure (with one, a late copy is the origin's).
    if (planned === 'other' && found.length === 0 && !fetcherLinked && !signal.aborted && performance.now() - lookedAt >= COSTLY_ATTEMPT_MS) {
      this.#outlook.failed(ROOM_FETCHER_WAIT);
    }
    this.#warmUp(found, rendition);
    // Needed now: only a holder already linked, no connection set-up on the
    // way, and none that went silent on its last transfers.
    const holders = (urgentFromRoom ? found.filter((peer) => this.#pool.isOpen(peer)) : found).filter(
      (peer) => early || !this.#silence.silent(peer),
    );
    const decision = chooseSource(
      {
        p2pEnabled: true,
        inInitialChunk,
        secondsUntilNeeded: until(),
        segmentBytes: info.sizeBytes,
        holders: holders.length,
        peerBytesPerSecond: this.#pool.bestRate(holders),
        fetchesForRoom: planned === 'me' && early,
        fromRoomFetcher: urgentFromRoom,
      },
      { ...DEFAULT_POLICY, httpDeadlineSecs: this.config.httpDeadlineSecs },
    );
    if (decision.source === 'http') return this.#fallback(decision.reason);
    let reason: HttpReason = 'no_holder';
    let head: PeerHead | undefined;
    for (const peer of holders.slice(0, MAX_ATTEMPTS)) {
      if (signal.aborted) break;
      const outcome = await this.#downloadFrom(peer, rendition, sequence, until, signal, urgentFromRoom, onProgress);
      if (outcome instanceof Uint8Array) {
        this.cache.put(rendition, sequence, outcome);
        this.#loading.delete(id);
        this.#delivered({ rendition, sequence, bytes: outcome.length, source: 'peer', peer });
        return { bytes: outcome, source: 'peer', peer };
      }
      reason = outcome.reason;
      // What a peer brought before it was given up is kept: HTTP fetches the rest.
      if (outcome.received.length > (head?.bytes.length ?? 0)) head = { bytes: outcome.received, peer };
      // A peer that failed us near the deadline leaves no time for another.
      if (until() < this.config.httpDeadlineSecs) break;
    }
    const result = this.#fallback(reason);
    return head === undefined || head.bytes.length >= info.sizeBytes ? result : { ...result, head };
  }

  /**
   * The player asks for a segment a peer is sending ahead of it: that transfer,
   * rather than a second one; when it is given up, HTTP fetches what it did
   * not bring.
   */
  async #joinTransferAhead(
    ahead: TransferAhead,
    rendition: string,
    sequence: number,
    signal: AbortSignal,
    onProgress: (received: number) => void,
  ): Promise<PeerResult> {
    const unsubscribe = ahead.onProgress(onProgress);
    let onAbort = (): void => {};
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      const outcome = await Promise.race([ahead.done, aborted]);
      if (outcome === 'aborted') return this.#fallback('stalled');
      if (outcome instanceof Uint8Array) {
        const id = segmentKey(rendition, sequence);
        this.#fetchedAhead.delete(id);
        this.#loading.delete(id);
        this.#delivered({ rendition, sequence, bytes: outcome.length, source: 'peer', peer: ahead.peer });
        return { bytes: outcome, source: 'peer', peer: ahead.peer };
      }
      const result = this.#fallback(outcome.reason);
      const size = this.index.get(rendition, sequence)?.sizeBytes ?? 0;
      const partial = outcome.received.length > 0 && outcome.received.length < size;
      return partial ? { ...result, head: { bytes: outcome.received, peer: ahead.peer } } : result;
    } finally {
      unsubscribe();
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The rest of a segment whose `head` came from a peer arrived over HTTP:
   * the whole is verified; undefined (and the peer banned) when it is not the
   * catalog's, and the player then fetches it whole.
   */
  async completeOverHttp(rendition: string, sequence: number, head: PeerHead, rest: Uint8Array, reason: HttpReason): Promise<Uint8Array | undefined> {
    const info = this.index.get(rendition, sequence);
    const bytes = new Uint8Array(head.bytes.length + rest.length);
    bytes.set(head.bytes);
    bytes.set(rest, head.bytes.length);
    const counters = this.#counters.of(rendition);
    counters.http += rest.length;
    if (info === undefined || !(await verifySegment(bytes, info.sha256))) {
      this.#badSegment(head.peer, rendition);
      return undefined;
    }
    counters.peer += head.bytes.length;
    this.#counters.completedOverHttp += 1;
    this.#loading.delete(segmentKey(rendition, sequence));
    this.#delivered({ rendition, sequence, bytes: bytes.length, source: 'http', reason });
    this.cache.put(rendition, sequence, bytes);
    return bytes;
  }

  /** A segment came over HTTP: count it, and keep it for peers when it is the catalog's. */
  async httpLoaded(rendition: string, sequence: number, bytes: Uint8Array, reason: HttpReason): Promise<void> {
    this.#counters.of(rendition).http += bytes.length;
    this.#loading.delete(segmentKey(rendition, sequence));
    this.#delivered({ rendition, sequence, bytes: bytes.length, source: 'http', reason });
    const info = this.index.get(rendition, sequence);
    if (info !== undefined && (await verifySegment(bytes, info.sha256))) this.cache.put(rendition, sequence, bytes);
  }

  /**
   * With P2P off hls.js loads on its own; this counts what it loaded, so the
   * viewer still sees its bytes. Nothing is cached: nothing is shared.
   */
  observedHttpLoad(rendition: string, sequence: number, bytes: number): void {
    this.#counters.of(rendition).http += bytes;
    this.#fallback('p2p_off');
    this.#delivered({ rendition, sequence, bytes, source: 'http', reason: 'p2p_off' });
  }

  /** An HTTP segment load took `ms` of transfer for `bytes` (the player's, or the room's fetch ahead). */
  httpTimed(bytes: number, ms: number): void {
    this.throughput.sample(bytes, ms);
    this.#httpThroughput.sample(bytes, ms);
  }

  /** HTTP's recent rate alone, bytes/s; undefined before any HTTP load. */
  #httpBytesPerSec(): number | undefined {
    const bits = this.#httpThroughput.bitsPerSecond();
    return bits === undefined ? undefined : bits / 8;
  }

  /** An HTTP load of the player's went silent (its connection died) and is made again. */
  httpWentSilent(): void {
    this.#counters.silentHttpLoads += 1;
  }

  /** Bytes of a partial HTTP response (aborted by the player) still count as downloaded. */
  httpPartial(rendition: string, bytes: number): void {
    this.#counters.of(rendition).http += bytes;
  }

  stats(): P2PStats {
    const { http, peer, uploaded } = this.#counters.totals();
    const audio = this.#counters.renditions().filter(([rendition]) => this.index.isAudio(rendition));
    return {
      audioHttpBytes: audio.reduce((sum, [, c]) => sum + c.http, 0),
      audioPeerBytes: audio.reduce((sum, [, c]) => sum + c.peer, 0),
      peerId: this.#session?.peerId ?? '',
      ...(this.#audioRendition === undefined ? {} : { audioRendition: this.#audioRendition }),
      audioPlanned: this.#audioPlan.active,
      httpBytes: http,
      peerBytes: peer,
      uploadedBytes: uploaded,
      peerShare: http + peer === 0 ? 0 : peer / (http + peer),
      segments: this.#counters.segments,
      httpReasons: this.#counters.httpReasons,
      verificationFailures: this.#counters.verificationFailures,
      unreachablePeers: this.#pool.unreachable,
      completedOverHttp: this.#counters.completedOverHttp,
      silentHttpLoads: this.#counters.silentHttpLoads + (this.#prefetch?.silentLoads ?? 0) + (this.#audioPrefetch?.silentLoads ?? 0),
      fetcherWaits: addCounts(this.#plan.waitEnds, this.#audioPlan.waitEnds),
      banned: this.#pool.banned,
      peers: this.#pool.stats(),
      cacheBytes: this.cache.sizeBytes,
      trackerConnected: this.#session?.connected ?? false,
    };
  }

  destroy(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#prefetch?.destroy();
    this.#audioPrefetch?.destroy();
    this.#peerPrefetch?.destroy();
    this.#reportToTracker();
    this.#pool.closeAll();
    this.#session?.stop();
  }

  /** A peer's bytes were not the catalog's: counted, and the peer banned. */
  #badSegment(peer: string, rendition: string): void {
    this.#counters.verificationFailures += 1;
    this.#pool.ban(peer, rendition, 'bad_segment');
  }

  /** Whether the player's own load of the segment is under way. */
  #playerLoading(rendition: string, sequence: number): boolean {
    return performance.now() - (this.#loading.get(segmentKey(rendition, sequence)) ?? Number.NEGATIVE_INFINITY) < LOADING_FRESH_MS;
  }

  #fallback(reason: HttpReason): PeerResult {
    this.#counters.wentToHttp(reason);
    return { fallback: reason };
  }

  #delivered(event: SegmentLoaded): void {
    this.#counters.delivered(event.source);
    this.dispatchEvent(new CustomEvent('segment', { detail: event }));
  }

  /**
   * One segment from one holder: connected first if need be, verified,
   * counted. `urgent`: the player needs it now and HTTP would be no faster,
   * so a transfer is given up only when it stops moving or crawls.
   */
  async #downloadFrom(
    peer: string,
    rendition: string,
    sequence: number,
    until: () => number,
    signal: AbortSignal,
    urgent: boolean,
    onProgress: (received: number) => void,
  ): Promise<Uint8Array | GivenUp> {
    const info = this.index.get(rendition, sequence);
    const nothing = new Uint8Array(0);
    if (info === undefined) return { reason: 'absent', received: nothing };
    const slackMs = urgent ? 0 : (until() - this.config.httpDeadlineSecs) * 1000;
    const startedAt = performance.now();
    // Given up because the player moved on says nothing about peers.
    const countFailure = (): void => {
      if (!signal.aborted && performance.now() - startedAt >= COSTLY_ATTEMPT_MS) this.#outlook.failed(peer);
    };
    let entry;
    try {
      entry = await this.#pool.connect(peer, rendition, Math.min(this.config.connectTimeoutMs, slackMs));
    } catch {
      countFailure();
      return { reason: 'connect_failed', received: nothing };
    }
    // Downloading from this peer: more connections to it for the transfers after this one.
    this.#pool.widen(peer);
    const abandon: AbandonPolicy = urgent ? { ...URGENT_ABANDON, httpBytesPerSec: this.#httpBytesPerSec() } : DEFAULT_ABANDON;
    const bytes = await downloadBeforeDeadline(entry, { rendition, sequence }, info.sizeBytes, until, signal, abandon, onProgress);
    if (!(bytes instanceof Uint8Array)) {
      // Given up because the player moved on says nothing about the peer.
      if (!signal.aborted && (bytes.reason === 'no_first_byte' || bytes.reason === 'stalled')) this.#silence.failed(peer);
      // A peer saying it does not hold the segment is the tracker's news being old, not a failing swarm.
      if (bytes.reason !== 'absent') countFailure();
      return bytes;
    }
    this.#silence.delivered(peer);
    if (!(await verifySegment(bytes, info.sha256))) {
      this.#badSegment(peer, rendition);
      return { reason: 'bad_hash', received: nothing };
    }
    this.#outlook.delivered();
    this.throughput.sample(bytes.length, (bytes.length / Math.max(entry.downloadBytesPerSec, 1)) * 1000);
    this.#counters.of(rendition).peer += bytes.length;
    return bytes;
  }

  /**
   * Holders worth asking: the room fetcher's copy for a segment it fetches
   * for the room (see `RoomPlan.awaitFetcher`), anyone's for a segment not
   * due soon, none otherwise.
   */
  #findHolders(
    rendition: string,
    sequence: number,
    planned: 'me' | 'other' | undefined,
    early: boolean,
    until: () => number,
    signal: AbortSignal,
  ): Promise<string[]> {
    if (planned === 'other') return this.#planOf(rendition).awaitFetcher(rendition, sequence, early, until, signal);
    return early ? this.#holders.holdersOf(rendition, sequence) : Promise.resolve([]);
  }

  /** Connects in the background to the best few holders not linked yet, so the next transfer starts at once. */
  #warmUp(holders: string[], rendition: string): void {
    for (const peer of holders.filter((p) => this.#pool.get(p) === undefined).slice(0, WARM_UP_PEERS)) {
      void this.#pool.connect(peer, rendition, this.config.connectTimeoutMs).catch(() => {});
    }
  }

  #tick(): void {
    this.#pool.dropIdle();
    const now = performance.now();
    for (const [id, at] of this.#loading) if (now - at >= LOADING_FRESH_MS) this.#loading.delete(id);
    if (this.#currentRendition !== undefined) {
      const playing = this.index.sequenceAt(this.#currentRendition, this.#init.playhead());
      this.cache.pinWindow(Math.max(0, playing - PIN_BEHIND), playing + PIN_AHEAD);
    }
    void this.#split.refresh().catch(() => {});
    this.dispatchEvent(new CustomEvent('stats', { detail: this.stats() }));
  }

  #reportToTracker(): void {
    for (const [rendition, c] of this.#counters.renditions()) this.#session?.stats(rendition, c.http, c.peer, c.uploaded);
  }
}

function addCounts(...counts: Readonly<Record<string, number>>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const count of counts) for (const [key, n] of Object.entries(count)) total[key] = (total[key] ?? 0) + n;
  return total;
}
