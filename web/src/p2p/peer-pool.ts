// The peer connections of one movie: opened on demand (a peer that failed to
// connect is left alone for a while, longer each time), answered when another
// peer offers, closed when idle, and a peer that sent a bad segment or broke
// the wire protocol is banned for good.
//
// Each peer gets up to `peerLanes` connections ("lanes"). Between homes one
// connection's SCTP association backs off at every loss and carries 1-2 Mbit/s
// whatever the uplink (bench/datachannel.sh: 1.2 Mbit/s over one, 2.2 over
// two, 3.1 over three, at 80 ms and 0.5 % loss per home link; three data
// channels of one connection share its association and gained nothing). The
// first lane is the link: it opens first, and when it closes the peer is gone.
// The others are offered one at a time once we download from the peer
// (`widen`), and carry transfers beside it.
import { MAX_LANES } from '../protocol/limits';
import type { IcePair } from '../protocol/IcePair';
import type { Signal } from '../protocol/Signal';
import { PeerConnection } from './peer-connection';
import { PeerLink } from './peer-link';
import { TokenBucket } from './rate-limiter';
import { Reachability, SLOW_LINK_MS } from './reachability';
import type { P2PConfig, PeerStats } from './types';
import type { SegmentId } from './wire';

/** One connection to a peer, with the wire protocol on its data channel. */
export interface Lane {
  connection: PeerConnection;
  link: PeerLink;
}

export interface PeerEntry {
  /** Lane 0: the link to the peer. */
  first: Lane;
  /** The other lanes by number (1 to MAX_LANES - 1), open or opening. */
  more: Map<number, Lane>;
  /** The swarm signals to this peer go through. */
  rendition: string;
  bucket: TokenBucket;
  downloadedBytes: number;
  uploadedBytes: number;
  downloadBytesPerSec: number;
}

function isOpen(lane: Lane): boolean {
  return !lane.link.closed && lane.connection.channel.readyState === 'open';
}

/** Every lane to a peer, open or opening, the first first. */
function allLanes(entry: PeerEntry): Lane[] {
  return [entry.first, ...entry.more.values()];
}

/** The lanes to a peer that are open now, the first first. */
export function openLanes(entry: PeerEntry): Lane[] {
  return allLanes(entry).filter(isOpen);
}

/** Where the next request to a peer goes: the open lane with the fewest in flight, the first on a tie. */
export function quietestLink(entry: PeerEntry): PeerLink {
  return openLanes(entry).reduce((best, lane) => (lane.link.downloads.length < best.link.downloads.length ? lane : best), entry.first)
    .link;
}

function inFlight(entry: PeerEntry): number {
  return allLanes(entry).reduce((sum, lane) => sum + lane.link.downloads.length, 0);
}

function lastActivityAt(entry: PeerEntry): number {
  return Math.max(...allLanes(entry).map((lane) => lane.link.lastActivityAt));
}

export type BanReason = 'bad_segment' | 'protocol_violation';

export interface PeerPoolHooks {
  config: P2PConfig;
  /** Our id on the tracker. */
  localId: () => string;
  sendSignal: (rendition: string, peer: string, signal: Signal, lane: number) => void;
  /** A connection in `rendition`'s swarm connected over `pair`. */
  onLinked?: (rendition: string, pair: IcePair) => void;
  /** A held segment to upload; undefined when not held or uploading is off. */
  provide: (segment: SegmentId) => Uint8Array | undefined;
  /** The cap on everything we upload, shared by every link. */
  uploadBucket: TokenBucket;
  onUploaded: (bytes: number, segment: SegmentId) => void;
  /** A peer was banned: tell the tracker. */
  onBanned: (rendition: string, peer: string, reason: BanReason) => void;
}

const MAX_BACKOFF_MS = 60_000;
const FIRST_BACKOFF_MS = 2_000;
/** After a lane did not open, more lanes to that peer wait this long, doubling each time up to MAX_BACKOFF_MS. */
const FIRST_LANES_PAUSE_MS = 30_000;

/** Per peer: when it may be tried again, and how often it failed in a row. */
type Backoff = Map<string, { until: number; failures: number }>;

/** One more failure of `peer`: the wait starts at `firstMs` and doubles, up to MAX_BACKOFF_MS. */
function backOff(backoff: Backoff, peer: string, firstMs: number): void {
  const failures = (backoff.get(peer)?.failures ?? 0) + 1;
  backoff.set(peer, { failures, until: performance.now() + Math.min(MAX_BACKOFF_MS, firstMs * 2 ** (failures - 1)) });
}

export class PeerPool {
  readonly #hooks: PeerPoolHooks;
  readonly #peers = new Map<string, PeerEntry>();
  readonly #banned = new Set<string>();
  /** Peer id -> when we may try it again after a failed connection, and how often it failed. */
  readonly #backoff: Backoff = new Map();
  /** Peer id -> when lanes past the first may be offered again after one did not open, and how often that happened. */
  readonly #lanesPaused: Backoff = new Map();
  readonly #reachability = new Reachability();

  constructor(hooks: PeerPoolHooks) {
    this.#hooks = hooks;
  }

  get(peer: string): PeerEntry | undefined {
    return this.#peers.get(peer);
  }

  get banned(): string[] {
    return [...this.#banned];
  }

  /** Peers a link was tried to lately and never opened. */
  get unreachable(): number {
    return this.#reachability.unreachable();
  }

  /** Not banned and not backing off after a failed connection. */
  usable(peer: string, now = performance.now()): boolean {
    return !this.#banned.has(peer) && (this.#backoff.get(peer)?.until ?? 0) <= now;
  }

  /** Orders holders: open links first, then the fastest measured, then the least busy per open lane. */
  score(peer: string): number {
    const entry = this.#peers.get(peer);
    if (entry === undefined) return 0;
    const lanes = openLanes(entry).length;
    const open = lanes > 0 ? 1e12 : 0;
    return open + entry.downloadBytesPerSec - (inFlight(entry) / Math.max(lanes, 1)) * 1e6;
  }

  /** Whether the link to `peer` is open now. */
  isOpen(peer: string): boolean {
    const entry = this.#peers.get(peer);
    return entry !== undefined && isOpen(entry.first);
  }

  /** Lanes to `peer` open now; 0 when its link is not. */
  openLaneCount(peer: string): number {
    const entry = this.#peers.get(peer);
    return entry !== undefined && isOpen(entry.first) ? openLanes(entry).length : 0;
  }

  /** Whether `peer` has an open lane with none of our requests in flight. */
  hasFreeLane(peer: string): boolean {
    const entry = this.#peers.get(peer);
    return entry !== undefined && isOpen(entry.first) && openLanes(entry).some((lane) => lane.link.downloads.length === 0);
  }

  /** The best measured throughput among `peers`, bytes/s; undefined when none was measured. */
  bestRate(peers: string[]): number | undefined {
    const rates = peers.map((p) => this.#peers.get(p)?.downloadBytesPerSec ?? 0).filter((r) => r > 0);
    return rates.length === 0 ? undefined : Math.max(...rates);
  }

  /** The open link to a peer, connecting first when there is none. */
  async connect(peer: string, rendition: string, timeoutMs: number): Promise<PeerEntry> {
    const existing = this.#peers.get(peer);
    // Several callers may wait for one connection (a background warm-up and a
    // download): only the one that opened it counts its failure.
    const opens = existing === undefined || existing.first.link.closed;
    const opening = opens ? this.#add(peer, rendition) : existing;
    if (opening === undefined) throw new Error('no room for another peer');
    if (opens) this.#offer(opening.first);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), Math.max(timeoutMs, 0));
    });
    try {
      await Promise.race([opening.first.link.ready, timeout]);
      this.#backoff.delete(peer);
      return opening;
    } catch (error) {
      if (opens) backOff(this.#backoff, peer, FIRST_BACKOFF_MS);
      if (opening.first.connection.channel.readyState !== 'open') this.drop(peer);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A signal from `from` for one of its lanes: only an offer starts a
   * connection, and a lane past the first only beside an open first one;
   * stray answers and candidates are dropped.
   */
  signalled(rendition: string, from: string, signal: Signal, lane = 0): void {
    if (this.#banned.has(from)) return;
    let entry = this.#peers.get(from);
    if (lane === 0) {
      if (entry === undefined || entry.first.link.closed) {
        if (signal.kind !== 'offer') return;
        entry = this.#add(from, rendition);
        if (entry === undefined) return;
      }
      void entry.first.connection.receive(signal).catch(() => this.drop(from));
      return;
    }
    if (entry === undefined || !isOpen(entry.first) || lane >= this.#laneCount) return;
    let answering = entry.more.get(lane);
    if (answering === undefined || answering.link.closed) {
      if (signal.kind !== 'offer') return;
      answering = this.#addLane(from, entry, lane);
    }
    const { connection } = answering;
    void connection.receive(signal).catch(() => connection.close());
  }

  ban(peer: string, rendition: string, reason: BanReason): void {
    if (this.#banned.has(peer)) return;
    this.#banned.add(peer);
    this.drop(peer);
    this.#hooks.onBanned(rendition, peer, reason);
  }

  drop(peer: string): void {
    const entry = this.#peers.get(peer);
    this.#peers.delete(peer);
    if (entry !== undefined) closeLanes(entry);
  }

  /** Closes links unused for `peerIdleSecs` with nothing in flight. */
  dropIdle(now = performance.now()): void {
    for (const [peer, entry] of this.#peers) {
      const idle = now - lastActivityAt(entry) > this.#hooks.config.peerIdleSecs * 1000;
      if (idle && inFlight(entry) === 0) this.drop(peer);
    }
  }

  closeAll(): void {
    for (const peer of [...this.#peers.keys()]) this.drop(peer);
  }

  stats(): PeerStats[] {
    return [...this.#peers.entries()].map(([id, p]) => {
      const downloads = allLanes(p).flatMap((lane) => lane.link.downloads);
      return {
        id,
        state: p.first.link.closed ? 'closed' : isOpen(p.first) ? 'open' : 'connecting',
        lanes: openLanes(p).length,
        downloadedBytes: p.downloadedBytes,
        uploadedBytes: p.uploadedBytes,
        downloadBytesPerSec: p.downloadBytesPerSec,
        inFlight: downloads.length,
        inFlightBytes: downloads.reduce((sum, d) => sum + d.received, 0),
      };
    });
  }

  /** Lanes used to one peer: the configuration's, within the protocol's limit. */
  get #laneCount(): number {
    return Math.max(1, Math.min(this.#hooks.config.peerLanes, MAX_LANES));
  }

  #offer(lane: Lane): void {
    const { connection } = lane;
    void connection.offer().catch(() => connection.close());
  }

  /**
   * Offers the next lane past the first to `peer`, when its first is open and
   * lanes are not paused for it; each lane that opens offers the next. One at
   * a time: every lane costs an offer, an answer and a few candidates through
   * the tracker, which limits each socket's messages. A lane that does not
   * open within the connect time (a peer that takes one connection, such as
   * the native seeder or a page from before lanes) pauses further offers to
   * that peer, longer each time; the first lane carries on either way.
   */
  widen(peer: string, now = performance.now()): void {
    const entry = this.#peers.get(peer);
    if (entry === undefined || !isOpen(entry.first)) return;
    if (now < (this.#lanesPaused.get(peer)?.until ?? 0)) return;
    if (!allLanes(entry).every(isOpen)) return;
    let number = 1;
    while (entry.more.has(number)) number++;
    if (number >= this.#laneCount) return;
    const lane = this.#addLane(peer, entry, number);
    this.#offer(lane);
    lane.link.ready.then(
      () => {
        this.#lanesPaused.delete(peer);
        this.widen(peer);
      },
      () => {
        if (this.#peers.get(peer) === entry) backOff(this.#lanesPaused, peer, FIRST_LANES_PAUSE_MS);
      },
    );
  }

  /**
   * A connection to `peer` for lane `number` (> 0) of `entry`, offered or
   * answered: closed when it does not open within the connect time, and
   * forgotten (and closed, with its link) when its channel closes.
   */
  #addLane(peer: string, entry: PeerEntry, number: number): Lane {
    const lane = this.#makeLane(peer, number, entry.bucket, () => entry);
    entry.more.set(number, lane);
    const unopened = setTimeout(() => lane.connection.close(), this.#hooks.config.connectTimeoutMs);
    const forget = (): void => {
      clearTimeout(unopened);
      if (entry.more.get(number) === lane) entry.more.delete(number);
      lane.link.close();
      lane.connection.close();
    };
    lane.link.ready.then(() => clearTimeout(unopened), forget);
    lane.connection.channel.addEventListener('close', forget);
    return lane;
  }

  /** A connection and its wire protocol under the peer's upload cap, counting into the entry `of` returns. */
  #makeLane(peer: string, number: number, bucket: TokenBucket, of: () => PeerEntry): Lane {
    const { config } = this.#hooks;
    const connection = new PeerConnection({
      localId: this.#hooks.localId(),
      remoteId: peer,
      iceServers: config.iceServers,
      sendSignal: (signal) => this.#hooks.sendSignal(of().rendition, peer, signal, number),
      onLinked: (pair) => this.#hooks.onLinked?.(of().rendition, pair),
    });
    const link = new PeerLink(connection.channel, {
      provide: (segment) => this.#hooks.provide(segment),
      uploadBuckets: [bucket, this.#hooks.uploadBucket],
      onUploaded: (bytes, segment) => {
        of().uploadedBytes += bytes;
        this.#hooks.onUploaded(bytes, segment);
      },
      onDownloaded: (bytes) => {
        of().downloadedBytes += bytes;
      },
      onViolation: () => this.ban(peer, of().rendition, 'protocol_violation'),
    });
    return { connection, link };
  }

  #add(peer: string, rendition: string): PeerEntry | undefined {
    const { config } = this.#hooks;
    if (this.#peers.size >= config.maxPeers && !this.#evictIdle()) return undefined;
    const bucket = new TokenBucket(config.peerUploadBytesPerSec);
    // The entry is made just below; the lane's callbacks run later.
    const first = this.#makeLane(peer, 0, bucket, () => entry);
    const entry: PeerEntry = {
      first,
      more: new Map(),
      rendition,
      bucket,
      downloadedBytes: 0,
      uploadedBytes: 0,
      downloadBytesPerSec: 0,
    };
    const { connection, link } = first;
    connection.channel.addEventListener('close', () => {
      if (this.#peers.get(peer) === entry) this.#peers.delete(peer);
      closeLanes(entry);
    });
    // Whichever side offered: a link that opens reached the peer; one that ICE
    // gave up on, or that stays shut for the full connect time, did not. One
    // given up sooner (a deadline) says nothing. Still shut after a while
    // counts until it opens.
    const slow = setTimeout(() => this.#reachability.slow(peer), Math.min(SLOW_LINK_MS, config.connectTimeoutMs));
    const unopened = setTimeout(() => this.#reachability.failed(peer), config.connectTimeoutMs);
    link.ready.then(
      () => {
        clearTimeout(slow);
        clearTimeout(unopened);
        this.#reachability.reached(peer);
      },
      () => {
        clearTimeout(slow);
        clearTimeout(unopened);
        if (connection.iceFailed) this.#reachability.failed(peer);
        else this.#reachability.abandoned(peer);
      },
    );
    this.#peers.set(peer, entry);
    return entry;
  }

  /** Closes the least recently active peer with nothing in flight; false when there is none. */
  #evictIdle(): boolean {
    const idle = [...this.#peers.entries()]
      .filter(([, p]) => inFlight(p) === 0)
      .sort(([, a], [, b]) => lastActivityAt(a) - lastActivityAt(b))[0];
    if (idle === undefined) return false;
    this.drop(idle[0]);
    return true;
  }
}

function closeLanes(entry: PeerEntry): void {
  for (const lane of allLanes(entry)) {
    lane.link.close();
    lane.connection.close();
  }
}
