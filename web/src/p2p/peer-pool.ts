// The peer connections of one movie: opened on demand (a peer that failed to
// connect is left alone for a while, longer each time), answered when another
// peer offers, closed when idle, and a peer that sent a bad segment or broke
// the wire protocol is banned for good.
import type { Signal } from '../protocol/Signal';
import { PeerConnection } from './peer-connection';
import { PeerLink } from './peer-link';
import { TokenBucket } from './rate-limiter';
import { Reachability, SLOW_LINK_MS } from './reachability';
import type { P2PConfig, PeerStats } from './types';
import type { SegmentId } from './wire';

export interface PeerEntry {
  connection: PeerConnection;
  link: PeerLink;
  /** The swarm signals to this peer go through. */
  rendition: string;
  bucket: TokenBucket;
  downloadedBytes: number;
  uploadedBytes: number;
  downloadBytesPerSec: number;
}

export type BanReason = 'bad_segment' | 'protocol_violation';

export interface PeerPoolHooks {
  config: P2PConfig;
  /** Our id on the tracker. */
  localId: () => string;
  sendSignal: (rendition: string, peer: string, signal: Signal) => void;
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

export class PeerPool {
  readonly #hooks: PeerPoolHooks;
  readonly #peers = new Map<string, PeerEntry>();
  readonly #banned = new Set<string>();
  /** Peer id -> when we may try it again after a failed connection, and how often it failed. */
  readonly #backoff = new Map<string, { until: number; failures: number }>();
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

  /** Orders holders: open links first, then the fastest measured, then the least busy. */
  score(peer: string): number {
    const entry = this.#peers.get(peer);
    if (entry === undefined) return 0;
    const open = entry.connection.channel.readyState === 'open' ? 1e12 : 0;
    return open + entry.downloadBytesPerSec - entry.link.downloads.length * 1e6;
  }

  /** Whether the link to `peer` is open now. */
  isOpen(peer: string): boolean {
    const entry = this.#peers.get(peer);
    return entry !== undefined && !entry.link.closed && entry.connection.channel.readyState === 'open';
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
    const opens = existing === undefined || existing.link.closed;
    const opening = opens ? this.#add(peer, rendition) : existing;
    if (opening === undefined) throw new Error('no room for another peer');
    if (opens) {
      const connection = opening.connection;
      void connection.offer().catch(() => connection.close());
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), Math.max(timeoutMs, 0));
    });
    try {
      await Promise.race([opening.link.ready, timeout]);
      this.#backoff.delete(peer);
      return opening;
    } catch (error) {
      if (opens) {
        const failures = (this.#backoff.get(peer)?.failures ?? 0) + 1;
        this.#backoff.set(peer, { failures, until: performance.now() + Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (failures - 1)) });
      }
      if (opening.connection.channel.readyState !== 'open') this.drop(peer);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** A signal from `from`: only an offer starts a connection; stray answers and candidates are dropped. */
  signalled(rendition: string, from: string, signal: Signal): void {
    if (this.#banned.has(from)) return;
    let entry = this.#peers.get(from);
    if (entry === undefined || entry.link.closed) {
      if (signal.kind !== 'offer') return;
      entry = this.#add(from, rendition);
      if (entry === undefined) return;
    }
    void entry.connection.receive(signal).catch(() => this.drop(from));
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
    entry?.link.close();
    entry?.connection.close();
  }

  /** Closes links unused for `peerIdleSecs` with nothing in flight. */
  dropIdle(now = performance.now()): void {
    for (const [peer, entry] of this.#peers) {
      const idle = now - entry.link.lastActivityAt > this.#hooks.config.peerIdleSecs * 1000;
      if (idle && entry.link.downloads.length === 0) this.drop(peer);
    }
  }

  closeAll(): void {
    for (const peer of [...this.#peers.keys()]) this.drop(peer);
  }

  stats(): PeerStats[] {
    return [...this.#peers.entries()].map(([id, p]) => {
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
  }

  #add(peer: string, rendition: string): PeerEntry | undefined {
    const { config } = this.#hooks;
    if (this.#peers.size >= config.maxPeers && !this.#evictIdle()) return undefined;
    const connection = new PeerConnection({
      localId: this.#hooks.localId(),
      remoteId: peer,
      iceServers: config.iceServers,
      sendSignal: (signal) => this.#hooks.sendSignal(entry.rendition, peer, signal),
    });
    const bucket = new TokenBucket(config.peerUploadBytesPerSec);
    const link = new PeerLink(connection.channel, {
      provide: (segment) => this.#hooks.provide(segment),
      uploadBuckets: [bucket, this.#hooks.uploadBucket],
      onUploaded: (bytes, segment) => {
        entry.uploadedBytes += bytes;
        this.#hooks.onUploaded(bytes, segment);
      },
      onDownloaded: (bytes) => {
        entry.downloadedBytes += bytes;
      },
      onViolation: () => this.ban(peer, entry.rendition, 'protocol_violation'),
    });
    const entry: PeerEntry = { connection, link, rendition, bucket, downloadedBytes: 0, uploadedBytes: 0, downloadBytesPerSec: 0 };
    connection.channel.addEventListener('close', () => {
      if (this.#peers.get(peer) === entry) this.#peers.delete(peer);
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
      .filter(([, p]) => p.link.downloads.length === 0)
      .sort(([, a], [, b]) => a.link.lastActivityAt - b.link.lastActivityAt)[0];
    if (idle === undefined) return false;
    this.drop(idle[0]);
    return true;
  }
}
