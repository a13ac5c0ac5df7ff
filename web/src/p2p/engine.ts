// The P2P side of the loader: for one movie, it keeps the segment cache, the
// presence on the tracker, the peer connections and the counters. The hls.js
// loader asks it for each segment (`fromPeers`) and tells it what came over
// HTTP (`httpLoaded`); it answers with bytes that passed SHA-256
// verification, or with the reason to use HTTP.
import type { SegmentManifest } from '../api/types';
import type { Signal } from '../protocol/Signal';
import { PeerConnection } from './peer-connection';
import { type Download, DownloadError, PeerLink } from './peer-link';
import { TokenBucket } from './rate-limiter';
import { SegmentCache } from './segment-cache';
import { SegmentIndex } from './segment-index';
import { chooseSource, DEFAULT_ABANDON, DEFAULT_POLICY, shouldAbandon, startsInitialChunk } from './source-choice';
import { TrackerSession } from './tracker-session';
import type { HttpReason, P2PConfig, P2PStats, PeerStats, SegmentLoaded, SegmentSource } from './types';
import { verifySegment } from './verify';
import type { SegmentId } from './wire';

/** Holders asked about at once: the segment wanted and the ones after it. */
const HOLDER_WINDOW = 16;
/** A `who_has` answer is reused this long, ms. */
const HOLDERS_FRESH_MS = 1_000;
/** Holders tried for one segment before HTTP. */
const MAX_ATTEMPTS = 2;
/** How long a segment another member fetches for the room is awaited before HTTP, ms. */
const PLANNED_WAIT_MS = 3_000;
/** How often the tracker is asked again while awaiting it, ms. */
const PLANNED_POLL_MS = 200;
const STATS_EVERY_MS = 1_000;
const TRACKER_STATS_EVERY_MS = 5_000;
/** How often a peer transfer is checked against its deadline, ms. */
const WATCH_EVERY_MS = 200;
/** Segments behind / ahead of the playhead pinned in the cache. */
const PIN_BEHIND = 2;
const PIN_AHEAD = 15;

export type PeerResult =
  | { bytes: Uint8Array; source: 'peer'; peer: string }
  | { bytes: Uint8Array; source: 'cache' }
  | { fallback: HttpReason };

export interface EngineInit {
  movie: string;
  manifest: SegmentManifest;
  /** Absolute WebSocket URL of the tracker and the catalog's token for this movie. */
  trackerUrl: string;
  token: string;
  config: P2PConfig;
  /** The player's position, seconds. */
  playhead: () => number;
}

interface PeerEntry {
  connection: PeerConnection;
  link: PeerLink;
  /** The swarm signals to this peer go through. */
  rendition: string;
  bucket: TokenBucket;
  downloadedBytes: number;
  uploadedBytes: number;
  downloadBytesPerSec: number;
}

interface Counters {
  http: number;
  peer: number;
  uploaded: number;
}

export class P2PEngine extends EventTarget {
  readonly config: P2PConfig;
  readonly index: SegmentIndex;
  readonly cache: SegmentCache;
  readonly #init: EngineInit;
  readonly #session: TrackerSession | undefined;
  readonly #peers = new Map<string, PeerEntry>();
  readonly #banned = new Set<string>();
  /** Peer id -> when we may try it again after a failed connection, and how often it failed. */
  readonly #backoff = new Map<string, { until: number; failures: number }>();
  readonly #holders = new Map<string, { from: number; at: number; peers: Map<string, Set<number>> }>();
  readonly #uploadBucket: TokenBucket;
  readonly #byRendition = new Map<string, Counters>();
  readonly #segments: Record<SegmentSource, number> = { http: 0, peer: 0, cache: 0 };
  readonly #httpReasons: Partial<Record<HttpReason, number>> = {};
  #verificationFailures = 0;
  #initialChunkFrom = 0;
  /** The room's fetch plan: who fetches segment n over HTTP for everyone. */
  #plan: { slots: string[]; me: string } | undefined;
  #currentRendition: string | undefined;
  readonly #timers: ReturnType<typeof setInterval>[] = [];

  constructor(init: EngineInit) {
    super();
    this.#init = init;
    this.config = init.config;
    this.index = new SegmentIndex(init.manifest);
    this.#uploadBucket = new TokenBucket(init.config.uploadBytesPerSec);
    if (init.config.p2p) {
      this.#session = new TrackerSession({
        url: init.trackerUrl,
        token: init.token,
        movie: init.movie,
        holdings: (rendition) => this.cache.holdings(rendition),
        onSignal: (rendition, from, signal) => this.#signalled(rendition, from, signal),
      });
      void this.#session.start().catch(() => {});
    }
    this.cache = new SegmentCache({
      capacityBytes: init.config.cacheMiB * 1024 * 1024,
      onAdded: (rendition, sequence) => this.#session?.holdingChanged(rendition, sequence, true),
      onDropped: (rendition, sequence) => this.#session?.holdingChanged(rendition, sequence, false),
    });
    this.#timers.push(setInterval(() => this.#tick(), STATS_EVERY_MS));
    if (this.#session !== undefined) {
      this.#timers.push(setInterval(() => this.#reportToTracker(), TRACKER_STATS_EVERY_MS));
    }
  }

  /**
   * In a room, members share a playhead: the room names, per segment, the
   * member who fetches it over HTTP (`slots[n % slots.length]`); the others
   * wait for it to hold it and take it over P2P. Empty slots: no plan.
   */
  setFetchPlan(slots: string[], me: string): void {
    this.#plan = slots.length === 0 ? undefined : { slots, me };
  }

  #plannedFetcher(sequence: number): 'me' | 'other' | undefined {
    const plan = this.#plan;
    if (plan === undefined) return undefined;
    return plan.slots[sequence % plan.slots.length] === plan.me ? 'me' : 'other';
  }

  /**
   * The player started at, or seeked from `from` to, `position`: after a
   * jump the next seconds come over HTTP; a nudge keeps the current window.
   */
  seeked(position: number, from?: number): void {
    if (!startsInitialChunk(from, position, this.config.initialChunkSecs)) return;
    this.#initialChunkFrom = position;
  }

  /** A segment of `rendition` from the cache or from peers, or why to use HTTP instead. */
  async fromPeers(rendition: string, sequence: number, signal: AbortSignal): Promise<PeerResult> {
    this.#currentRendition = rendition;
    const cached = this.cache.get(rendition, sequence);
    if (cached !== undefined) {
      this.#delivered({ rendition, sequence, bytes: cached.length, source: 'cache' });
      return { bytes: cached, source: 'cache' };
    }
    const info = this.index.get(rendition, sequence);
    if (info === undefined || this.#session === undefined) return this.#fallback('p2p_off');
    void this.#session.join(rendition).catch(() => {});
    const until = (): number => info.startSecs - this.#init.playhead();
    const inInitialChunk =
      info.startSecs + info.durationSecs > this.#initialChunkFrom &&
      info.startSecs < this.#initialChunkFrom + this.config.initialChunkSecs;
    const early = !inInitialChunk && until() >= this.config.httpDeadlineSecs;
    const planned = early ? this.#plannedFetcher(sequence) : undefined;
    if (planned === 'me') return this.#fallback('assigned');
    const holders = !early
      ? []
      : planned === 'other'
        ? await this.#awaitHolders(rendition, sequence, until, signal)
        : await this.#holdersOf(rendition, sequence);
    const decision = chooseSource(
      {
        p2pEnabled: true,
        inInitialChunk,
        secondsUntilNeeded: until(),
        segmentBytes: info.sizeBytes,
        holders: holders.length,
        peerBytesPerSecond: this.#bestRate(holders),
      },
      { ...DEFAULT_POLICY, httpDeadlineSecs: this.config.httpDeadlineSecs },
    );
    if (decision.source === 'http') return this.#fallback(decision.reason);
    let reason: HttpReason = 'no_holder';
    for (const peer of holders.slice(0, MAX_ATTEMPTS)) {
      if (signal.aborted) break;
      const outcome = await this.#downloadFrom(peer, rendition, sequence, info.sizeBytes, info.sha256, until, signal);
      if (outcome instanceof Uint8Array) {
        this.cache.put(rendition, sequence, outcome);
        this.#delivered({ rendition, sequence, bytes: outcome.length, source: 'peer', peer });
        return { bytes: outcome, source: 'peer', peer };
      }
      reason = outcome;
      // A peer that failed us near the deadline leaves no time for another.
      if (until() < this.config.httpDeadlineSecs) break;
    }
    return this.#fallback(reason);
  }

  /** A segment came over HTTP: count it, and keep it for peers when it is the catalog's. */
  async httpLoaded(rendition: string, sequence: number, bytes: Uint8Array, reason: HttpReason): Promise<void> {
    this.#counters(rendition).http += bytes.length;
    this.#delivered({ rendition, sequence, bytes: bytes.length, source: 'http', reason });
    const info = this.index.get(rendition, sequence);
    if (info !== undefined && (await verifySegment(bytes, info.sha256))) this.cache.put(rendition, sequence, bytes);
  }

  /**
   * With P2P off hls.js loads on its own; this counts what it loaded, so the
   * viewer still sees its bytes. Nothing is cached: nothing is shared.
   */
  observedHttpLoad(rendition: string, sequence: number, bytes: number): void {
    this.#counters(rendition).http += bytes;
    this.#fallback('p2p_off');
    this.#delivered({ rendition, sequence, bytes, source: 'http', reason: 'p2p_off' });
  }

  /** Bytes of a partial HTTP response (aborted by the player) still count as downloaded. */
  httpPartial(rendition: string, bytes: number): void {
    this.#counters(rendition).http += bytes;
  }

  stats(): P2PStats {
    let http = 0;
    let peer = 0;
    let uploaded = 0;
    for (const c of this.#byRendition.values()) {
      http += c.http;
      peer += c.peer;
      uploaded += c.uploaded;
    }
    const peers: PeerStats[] = [...this.#peers.entries()].map(([id, p]) => {
      const downloads = p.link.downloads;
      return {
        id,
        state: p.link.closed ? 'closed' : p.connection.channel.readyState === 'open' ? 'open' : 'connecting',
        downloadedBytes: p.downloadedBytes,
        uploadedBytes: p.uploadedBytes,
        downloadBytesPerSec: p.downloadBytesPerSec,
        inFlight: downloads.length,
        inFlightBytes: downloads.reduce((sum, d) => sum + d.received, 0),
      };
    });
    return {
      peerId: this.#session?.peerId ?? '',
      httpBytes: http,
      peerBytes: peer,
      uploadedBytes: uploaded,
      peerShare: http + peer === 0 ? 0 : peer / (http + peer),
      segments: { ...this.#segments },
      httpReasons: { ...this.#httpReasons },
      verificationFailures: this.#verificationFailures,
      banned: [...this.#banned],
      peers,
      cacheBytes: this.cache.sizeBytes,
      trackerConnected: this.#session?.connected ?? false,
    };
  }

  destroy(): void {
    for (const timer of this.#timers) clearInterval(timer);
    this.#reportToTracker();
    for (const peer of this.#peers.values()) peer.connection.close();
    this.#peers.clear();
    this.#session?.stop();
  }

  #counters(rendition: string): Counters {
    let counters = this.#byRendition.get(rendition);
    if (counters === undefined) {
      counters = { http: 0, peer: 0, uploaded: 0 };
      this.#byRendition.set(rendition, counters);
    }
    return counters;
  }

  #fallback(reason: HttpReason): PeerResult {
    this.#httpReasons[reason] = (this.#httpReasons[reason] ?? 0) + 1;
    return { fallback: reason };
  }

  #delivered(event: SegmentLoaded): void {
    this.#segments[event.source] += 1;
    this.dispatchEvent(new CustomEvent('segment', { detail: event }));
  }

  /**
   * Holders of a segment another member fetches for the room: asked again
   * until one holds it, for at most PLANNED_WAIT_MS and never into the time
   * HTTP needs (then none, and HTTP it is).
   */
  async #awaitHolders(rendition: string, sequence: number, until: () => number, signal: AbortSignal): Promise<string[]> {
    const started = performance.now();
    for (let fresh = false; ; fresh = true) {
      const holders = await this.#holdersOf(rendition, sequence, fresh);
      if (holders.length > 0 || signal.aborted) return holders;
      const late = until() - PLANNED_POLL_MS / 1000 < this.config.httpDeadlineSecs;
      if (late || performance.now() - started + PLANNED_POLL_MS > PLANNED_WAIT_MS) return [];
      await new Promise((resolve) => setTimeout(resolve, PLANNED_POLL_MS));
    }
  }

  /** Peers that hold the segment, best first: open links, then the fastest measured. */
  async #holdersOf(rendition: string, sequence: number, fresh = false): Promise<string[]> {
    let known = this.#holders.get(rendition);
    const now = performance.now();
    const inWindow = known !== undefined && sequence >= known.from && sequence < known.from + HOLDER_WINDOW;
    if (fresh || known === undefined || !inWindow || now - known.at > HOLDERS_FRESH_MS || !holdsAny(known.peers, sequence)) {
      const answer = (await this.#session?.whoHas(rendition, sequence, HOLDER_WINDOW)) ?? [];
      const peers = new Map<string, Set<number>>();
      for (const holder of answer) {
        const held = new Set<number>();
        for (const [from, to] of holder.holds) for (let s = from; s <= to; s++) held.add(s);
        peers.set(holder.peer, held);
      }
      known = { from: sequence, at: performance.now(), peers };
      this.#holders.set(rendition, known);
    }
    const usable = [...known.peers.entries()]
      .filter(([peer, held]) => held.has(sequence) && !this.#banned.has(peer) && (this.#backoff.get(peer)?.until ?? 0) <= now)
      .map(([peer]) => peer);
    const score = (peer: string): number => {
      const entry = this.#peers.get(peer);
      if (entry === undefined) return 0;
      const open = entry.connection.channel.readyState === 'open' ? 1e12 : 0;
      return open + entry.downloadBytesPerSec - entry.link.downloads.length * 1e6;
    };
    return usable.sort((a, b) => score(b) - score(a));
  }

  #bestRate(peers: string[]): number | undefined {
    const rates = peers.map((p) => this.#peers.get(p)?.downloadBytesPerSec ?? 0).filter((r) => r > 0);
    return rates.length === 0 ? undefined : Math.max(...rates);
  }

  async #downloadFrom(
    peer: string,
    rendition: string,
    sequence: number,
    sizeBytes: number,
    sha256: string,
    until: () => number,
    signal: AbortSignal,
  ): Promise<Uint8Array | HttpReason> {
    const slackMs = (until() - this.config.httpDeadlineSecs) * 1000;
    let entry: PeerEntry;
    try {
      entry = await this.#connect(peer, rendition, Math.min(this.config.connectTimeoutMs, slackMs));
    } catch {
      return 'connect_failed';
    }
    const segment: SegmentId = { rendition, sequence };
    const download = entry.link.request(segment, sizeBytes);
    const abandon = watchDeadline(download, sizeBytes, until, signal);
    let bytes: Uint8Array | HttpReason;
    try {
      bytes = await Promise.race([download.result, abandon.reason]);
    } catch (error) {
      if (error instanceof DownloadError) {
        return error.reason === 'absent' ? 'absent' : error.reason === 'cancelled' ? 'stalled' : 'peer_closed';
      }
      return 'peer_closed';
    } finally {
      abandon.stop();
    }
    if (typeof bytes === 'string') {
      download.cancel();
      return bytes;
    }
    const seconds = Math.max(performance.now() - download.startedAt, 1) / 1000;
    entry.downloadBytesPerSec = bytes.length / seconds;
    if (!(await verifySegment(bytes, sha256))) {
      this.#verificationFailures += 1;
      this.#ban(peer, rendition, 'bad_segment');
      return 'bad_hash';
    }
    this.#counters(rendition).peer += bytes.length;
    return bytes;
  }

  /** The open link to a peer, connecting first when there is none. */
  async #connect(peer: string, rendition: string, timeoutMs: number): Promise<PeerEntry> {
    let entry = this.#peers.get(peer);
    if (entry === undefined || entry.link.closed) {
      entry = this.#newPeer(peer, rendition);
      if (entry === undefined) throw new Error('no room for another peer');
      void entry.connection.offer().catch(() => entry?.connection.close());
    }
    const opening = entry;
    const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), Math.max(timeoutMs, 0)));
    try {
      await Promise.race([opening.link.ready, timer]);
      this.#backoff.delete(peer);
      return opening;
    } catch (error) {
      const failures = (this.#backoff.get(peer)?.failures ?? 0) + 1;
      this.#backoff.set(peer, { failures, until: performance.now() + Math.min(60_000, 2_000 * 2 ** (failures - 1)) });
      if (opening.connection.channel.readyState !== 'open') this.#dropPeer(peer);
      throw error;
    }
  }

  #newPeer(peer: string, rendition: string): PeerEntry | undefined {
    if (this.#peers.size >= this.config.maxPeers && !this.#evictIdlePeer()) return undefined;
    const connection = new PeerConnection({
      localId: this.#session?.peerId ?? '',
      remoteId: peer,
      iceServers: this.config.iceServers,
      sendSignal: (signal) => this.#session?.signal(entry.rendition, peer, signal),
    });
    const bucket = new TokenBucket(this.config.peerUploadBytesPerSec);
    const link = new PeerLink(connection.channel, {
      provide: (segment) => (this.config.upload ? this.cache.get(segment.rendition, segment.sequence) : undefined),
      uploadBuckets: [bucket, this.#uploadBucket],
      onUploaded: (bytes, segment) => {
        entry.uploadedBytes += bytes;
        this.#counters(segment.rendition).uploaded += bytes;
      },
      onDownloaded: (bytes) => {
        entry.downloadedBytes += bytes;
      },
      onViolation: () => this.#ban(peer, entry.rendition, 'protocol_violation'),
    });
    const entry: PeerEntry = {
      connection,
      link,
      rendition,
      bucket,
      downloadedBytes: 0,
      uploadedBytes: 0,
      downloadBytesPerSec: 0,
    };
    connection.channel.addEventListener('close', () => {
      if (this.#peers.get(peer) === entry) this.#peers.delete(peer);
    });
    this.#peers.set(peer, entry);
    return entry;
  }

  #dropPeer(peer: string): void {
    const entry = this.#peers.get(peer);
    this.#peers.delete(peer);
    entry?.link.close();
    entry?.connection.close();
  }

  /** Closes the least recently active peer with nothing in flight; false when there is none. */
  #evictIdlePeer(): boolean {
    const idle = [...this.#peers.entries()]
      .filter(([, p]) => p.link.downloads.length === 0)
      .sort(([, a], [, b]) => a.link.lastActivityAt - b.link.lastActivityAt)[0];
    if (idle === undefined) return false;
    this.#dropPeer(idle[0]);
    return true;
  }

  #ban(peer: string, rendition: string, reason: 'bad_segment' | 'protocol_violation'): void {
    if (this.#banned.has(peer)) return;
    this.#banned.add(peer);
    this.#dropPeer(peer);
    this.#session?.report(rendition, peer, reason);
  }

  #signalled(rendition: string, from: string, signal: Signal): void {
    if (this.#banned.has(from)) return;
    let entry = this.#peers.get(from);
    if (entry === undefined || entry.link.closed) {
      // Only an offer starts a connection; stray answers and candidates are dropped.
      if (signal.kind !== 'offer') return;
      entry = this.#newPeer(from, rendition);
      if (entry === undefined) return;
    }
    const target = entry;
    void target.connection.receive(signal).catch(() => this.#dropPeer(from));
  }

  #tick(): void {
    const now = performance.now();
    for (const [peer, entry] of this.#peers) {
      const idle = now - entry.link.lastActivityAt > this.config.peerIdleSecs * 1000;
      if (idle && entry.link.downloads.length === 0) this.#dropPeer(peer);
    }
    if (this.#currentRendition !== undefined) {
      const playing = this.index.sequenceAt(this.#currentRendition, this.#init.playhead());
      this.cache.pinWindow(Math.max(0, playing - PIN_BEHIND), playing + PIN_AHEAD);
    }
    this.dispatchEvent(new CustomEvent('stats', { detail: this.stats() }));
  }

  #reportToTracker(): void {
    for (const [rendition, c] of this.#byRendition) this.#session?.stats(rendition, c.http, c.peer, c.uploaded);
  }
}

function holdsAny(peers: Map<string, Set<number>>, sequence: number): boolean {
  for (const held of peers.values()) if (held.has(sequence)) return true;
  return false;
}

/**
 * Settles `reason` with why a peer transfer should be given up (it stalled,
 * it will be late, or the player no longer wants the segment).
 */
function watchDeadline(
  download: Download,
  sizeBytes: number,
  until: () => number,
  signal: AbortSignal,
): { reason: Promise<HttpReason>; stop: () => void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  let onAbort = (): void => {};
  const reason = new Promise<HttpReason>((resolve) => {
    onAbort = () => resolve('stalled');
    signal.addEventListener('abort', onAbort, { once: true });
    timer = setInterval(() => {
      const now = performance.now();
      const verdict = shouldAbandon(
        {
          segmentBytes: sizeBytes,
          bytesReceived: download.received,
          secondsElapsed: (now - download.startedAt) / 1000,
          secondsSinceProgress: (now - download.lastProgressAt) / 1000,
          secondsUntilNeeded: until(),
        },
        DEFAULT_ABANDON,
      );
      if (verdict !== undefined) resolve(verdict);
    }, WATCH_EVERY_MS);
  });
  return {
    reason,
    stop: () => {
      clearInterval(timer);
      signal.removeEventListener('abort', onAbort);
    },
  };
}
