// The player asks for one segment at a time, and between two homes one data
// channel carries 1-2 Mbit/s (its SCTP association backs off at every loss
// over 80 ms and more of round trip), so a 480p segment from one peer took
// about as long as it plays and most came too late (`late`, then HTTP). So
// the segments of the window ahead that peers hold are fetched before the
// player asks, several at once, each over a different connection: three
// holders, or three lanes to one (peer-pool.ts), three associations, about
// three times the rate. Whoever got a segment holds it
// and passes it on, so a late joiner's transfers spread over every viewer
// ahead of it rather than all landing on the first one.
import type { GivenUp } from './deadline-download';
import { type PlayerWindow, windowAhead } from './player-window';

/** How often the window is looked at, ms. */
const TICK_MS = 250;
/** Transfers ahead under way at once, each over its own connection. */
const TRANSFERS_AT_ONCE = 3;
/** A segment whose transfer ahead failed is not tried ahead again for this long, ms. */
const RETRY_AFTER_MS = 2_000;
/**
 * Nothing is fetched ahead while the player holds less than this, s: the
 * player's own loads, nearest first, go alone. After a seek in a room every
 * member pulling three segments at once split the fetchers' uplinks between
 * them all, the segment everyone needed next came late, and five of six
 * members stalled at the same moment.
 */
const MIN_BUFFERED_SECS = 8;

export interface PeerPrefetchHooks extends PlayerWindow {
  /** A segment due sooner than this (seconds) is left to the player's own load. */
  minLeadSecs: () => number;
  /** Peers holding the segment, best first; a recent answer is reused rather than the tracker asked again. */
  holdersOf: (rendition: string, sequence: number) => Promise<string[]>;
  /** Whether `peer` has an open connection (lane) that carries none of our transfers now. */
  idle: (peer: string) => boolean;
  /** Connections (lanes) to `peer` open now; 0 when not linked. */
  lanes: (peer: string) => number;
  /** Opens links to holders not linked yet, in the background. */
  warmUp: (peers: string[], rendition: string) => void;
  /** The segment is on its way already (the player's own load, or a fetch over HTTP ahead): not fetched twice. */
  loading: (rendition: string, sequence: number) => boolean;
  /** One segment from one peer, against its deadline: verified bytes (counted), or why it was given up. */
  download: (
    peer: string,
    rendition: string,
    sequence: number,
    signal: AbortSignal,
    onProgress: (received: number) => void,
  ) => Promise<Uint8Array | GivenUp>;
  /** A segment came from `peer` ahead of the player (already in the cache). */
  onFetched: (rendition: string, sequence: number, peer: string) => void;
}

/** A transfer ahead the player may join when it asks for that segment. */
export interface TransferAhead {
  peer: string;
  /** Resolves with the verified bytes or why the transfer was given up. */
  done: Promise<Uint8Array | GivenUp>;
  /** Follows the transfer's progress (bytes received so far); returns the unsubscribe. */
  onProgress: (listener: (received: number) => void) => () => void;
}

interface Transfer extends TransferAhead {
  rendition: string;
  sequence: number;
  abort: AbortController;
  /** The player waits for it: a seek no longer drops it (the player gives it up itself, or its deadline does). */
  joined: boolean;
}

const key = (rendition: string, sequence: number): string => `${rendition}/${sequence}`;

export class PeerPrefetch {
  readonly #hooks: PeerPrefetchHooks;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #transfers = new Map<string, Transfer>();
  readonly #failedAt = new Map<string, number>();
  #ticking = false;

  constructor(hooks: PeerPrefetchHooks) {
    this.#hooks = hooks;
    this.#timer = setInterval(() => void this.tick(), TICK_MS);
  }

  /** The player takes over the transfer ahead of this segment, when one runs. */
  join(rendition: string, sequence: number): TransferAhead | undefined {
    const transfer = this.#transfers.get(key(rendition, sequence));
    if (transfer !== undefined) transfer.joined = true;
    return transfer;
  }

  async tick(): Promise<void> {
    if (this.#ticking) return;
    const rendition = this.#hooks.rendition();
    if (rendition === undefined) return;
    this.#ticking = true;
    try {
      // A seek or a rendition switch left transfers ahead behind: drop them.
      const [from, to] = this.#window(rendition);
      for (const t of [...this.#transfers.values()]) {
        if (!t.joined && (t.rendition !== rendition || t.sequence < from || t.sequence > to)) this.#abort(t);
      }
      const now = performance.now();
      for (const [id, at] of this.#failedAt) if (now - at >= RETRY_AFTER_MS) this.#failedAt.delete(id);
      if (this.#hooks.bufferedTo() - this.#hooks.playhead() >= MIN_BUFFERED_SECS) await this.#startWhatFits(rendition, from, to);
    } finally {
      this.#ticking = false;
    }
  }

  destroy(): void {
    clearInterval(this.#timer);
    for (const t of [...this.#transfers.values()]) this.#abort(t);
  }

  #window(rendition: string): [number, number] {
    return windowAhead(this.#hooks, rendition);
  }

  /**
   * Nearest first: each segment wanted goes to the best of its holders with a
   * free lane, at most one transfer ahead per lane (a transfer just started
   * may not have taken its lane yet).
   */
  async #startWhatFits(rendition: string, from: number, to: number): Promise<void> {
    const { index, cache, playhead, minLeadSecs, holdersOf, idle, lanes, warmUp, loading } = this.#hooks;
    const now = performance.now();
    for (let sequence = from; sequence <= to && this.#transfers.size < TRANSFERS_AT_ONCE; sequence++) {
      const id = key(rendition, sequence);
      const info = index.get(rendition, sequence);
      if (info === undefined || cache.has(rendition, sequence) || this.#transfers.has(id)) continue;
      if (loading(rendition, sequence) || info.startSecs - playhead() < minLeadSecs()) continue;
      if (now - (this.#failedAt.get(id) ?? Number.NEGATIVE_INFINITY) < RETRY_AFTER_MS) continue;
      const holders = await holdersOf(rendition, sequence);
      if (this.#hooks.rendition() !== rendition) return;
      const transfersOn = (p: string): number => [...this.#transfers.values()].filter((t) => t.peer === p).length;
      const peer = holders.find((p) => idle(p) && transfersOn(p) < lanes(p));
      if (peer === undefined) {
        warmUp(holders, rendition);
        continue;
      }
      // Looked at again after the lookup: the player may have asked for it meanwhile.
      if (!cache.has(rendition, sequence) && !this.#transfers.has(id) && !loading(rendition, sequence)) this.#start(peer, rendition, sequence);
    }
  }

  #start(peer: string, rendition: string, sequence: number): void {
    const id = key(rendition, sequence);
    const abort = new AbortController();
    const listeners = new Set<(received: number) => void>();
    const done = this.#hooks
      .download(peer, rendition, sequence, abort.signal, (received) => {
        for (const listener of listeners) listener(received);
      })
      .catch((): GivenUp => ({ reason: 'peer_closed', received: new Uint8Array(0) }))
      .then((outcome) => {
        if (outcome instanceof Uint8Array) this.#hooks.onFetched(rendition, sequence, peer);
        else if (!abort.signal.aborted) this.#failedAt.set(id, performance.now());
        return outcome;
      })
      .finally(() => {
        if (this.#transfers.get(id)?.abort === abort) this.#transfers.delete(id);
        // A link came free: the next segment at once, not at the next tick.
        if (!abort.signal.aborted) void this.tick();
      });
    const onProgress = (listener: (received: number) => void): (() => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    };
    this.#transfers.set(id, { peer, rendition, sequence, abort, done, onProgress, joined: false });
  }

  #abort(t: Transfer): void {
    t.abort.abort();
    this.#transfers.delete(key(t.rendition, t.sequence));
  }
}
