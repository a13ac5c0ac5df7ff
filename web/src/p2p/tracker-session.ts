// A viewer's lasting presence on the tracker over a TrackerClient that may
// drop: reconnects with exponential backoff and jitter, joins again every
// swarm it was in with the holdings it has now, and batches holdings deltas
// into one `have` per swarm every HAVE_BATCH_MS.
import type { Holder } from '../protocol/Holder';
import type { IcePair } from '../protocol/IcePair';
import type { ReportReason } from '../protocol/ReportReason';
import type { SegmentRanges } from '../protocol/SegmentRanges';
import type { Signal } from '../protocol/Signal';
import type { SwarmKey } from '../protocol/SwarmKey';
import { TrackerClient, type WebSocketConstructor } from './tracker-client';

const HAVE_BATCH_MS = 250;
const RECONNECT_MIN_MS = 1_000;
const RECONNECT_MAX_MS = 30_000;

export interface TrackerSessionOptions {
  url: string;
  token: string;
  movie: string;
  /** The segments held now of a rendition, for (re)joins. */
  holdings: (rendition: string) => number[];
  onSignal: (rendition: string, from: string, signal: Signal, lane: number) => void;
  /** Our peer id changed (a reconnect). */
  onPeerId?: (id: string) => void;
  Socket?: WebSocketConstructor;
}

interface SwarmState {
  joined: Promise<void> | undefined;
  added: Set<number>;
  dropped: Set<number>;
}

/** Sequences to canonical inclusive ranges. */
export function toRanges(sequences: Iterable<number>): SegmentRanges {
  const sorted = [...new Set(sequences)].sort((a, b) => a - b);
  const ranges: SegmentRanges = [];
  for (const s of sorted) {
    const last = ranges.at(-1);
    if (last !== undefined && last[1] + 1 === s) last[1] = s;
    else ranges.push([s, s]);
  }
  return ranges;
}

export class TrackerSession {
  readonly #options: TrackerSessionOptions;
  readonly #swarms = new Map<string, SwarmState>();
  #client: TrackerClient | undefined;
  #connecting: Promise<TrackerClient> | undefined;
  #failures = 0;
  #haveTimer: ReturnType<typeof setTimeout> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(options: TrackerSessionOptions) {
    this.#options = options;
  }

  get connected(): boolean {
    return this.#client !== undefined;
  }

  get peerId(): string {
    return this.#client?.peerId ?? '';
  }

  #key(rendition: string): SwarmKey {
    return { movie: this.#options.movie, rendition };
  }

  /** Joins a rendition's swarm (once); resolves when joined. */
  async join(rendition: string): Promise<void> {
    let state = this.#swarms.get(rendition);
    if (state === undefined) {
      state = { joined: undefined, added: new Set(), dropped: new Set() };
      this.#swarms.set(rendition, state);
    }
    state.joined ??= this.#joinNow(rendition).catch((error: unknown) => {
      if (state !== undefined) state.joined = undefined;
      throw error;
    });
    return state.joined;
  }

  async #joinNow(rendition: string): Promise<void> {
    const client = await this.#connect();
    await client.join(this.#key(rendition), this.#options.token, toRanges(this.#options.holdings(rendition)));
  }

  /** Who holds `from .. from + count - 1` of a rendition (empty when the tracker is away). */
  async whoHas(rendition: string, from: number, count: number): Promise<Holder[]> {
    const client = this.#client;
    if (client === undefined) return [];
    try {
      await this.join(rendition);
      return await client.whoHas(this.#key(rendition), from, count);
    } catch {
      return [];
    }
  }

  signal(rendition: string, to: string, signal: Signal, lane = 0): void {
    this.#client?.signal(this.#key(rendition), to, signal, lane);
  }

  linked(rendition: string, pair: IcePair): void {
    this.#client?.linked(this.#key(rendition), pair);
  }

  report(rendition: string, peer: string, reason: ReportReason): void {
    this.#client?.report(this.#key(rendition), peer, reason);
  }

  stats(rendition: string, httpBytes: number, peerBytes: number, uploadedBytes: number): void {
    if (this.#swarms.get(rendition)?.joined === undefined) return;
    this.#client?.stats(this.#key(rendition), httpBytes, peerBytes, uploadedBytes);
  }

  /** A segment entered (`held`) or left the cache. */
  holdingChanged(rendition: string, sequence: number, held: boolean): void {
    const state = this.#swarms.get(rendition);
    // Not in that swarm (yet): the join will carry the holdings.
    if (state?.joined === undefined) return;
    (held ? state.added : state.dropped).add(sequence);
    (held ? state.dropped : state.added).delete(sequence);
    this.#haveTimer ??= setTimeout(() => this.#flushHave(), HAVE_BATCH_MS);
  }

  #flushHave(): void {
    this.#haveTimer = undefined;
    for (const [rendition, state] of this.#swarms) {
      if (state.added.size === 0 && state.dropped.size === 0) continue;
      this.#client?.have(this.#key(rendition), toRanges(state.added), toRanges(state.dropped));
      state.added.clear();
      state.dropped.clear();
    }
  }

  /** Connects now, or shares the attempt in progress. */
  start(): Promise<TrackerClient> {
    return this.#connect();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#haveTimer);
    clearTimeout(this.#reconnectTimer);
    this.#client?.close();
    this.#client = undefined;
  }

  #connect(): Promise<TrackerClient> {
    if (this.#client !== undefined) return Promise.resolve(this.#client);
    if (this.#stopped) return Promise.reject(new Error('the tracker session stopped'));
    this.#connecting ??= TrackerClient.connect(
      this.#options.url,
      {
        onSignal: (swarm, from, signal, lane) => this.#options.onSignal(swarm.rendition, from, signal, lane),
        onClose: () => this.#lost(),
      },
      this.#options.Socket,
    ).then(
      (client) => {
        this.#connecting = undefined;
        this.#failures = 0;
        this.#client = client;
        this.#options.onPeerId?.(client.peerId);
        return client;
      },
      (error: unknown) => {
        this.#connecting = undefined;
        this.#scheduleReconnect();
        throw error;
      },
    );
    return this.#connecting;
  }

  #lost(): void {
    this.#client = undefined;
    if (this.#stopped) return;
    for (const state of this.#swarms.values()) {
      state.joined = undefined;
      state.added.clear();
      state.dropped.clear();
    }
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopped || this.#reconnectTimer !== undefined) return;
    const base = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** this.#failures);
    this.#failures += 1;
    const delay = base / 2 + Math.random() * (base / 2);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      // Rejoin every swarm we were in, with what we hold now.
      for (const rendition of this.#swarms.keys()) void this.join(rendition).catch(() => {});
      if (this.#swarms.size === 0) void this.#connect().catch(() => {});
    }, delay);
  }
}
