// In a room everyone plays the same seconds, so the room's fetch plan names
// one member per segment to fetch it over HTTP for all. Waiting for the
// player to ask would make every member fetch segment n, n+1, ... in the same
// order at the same moment: the planned member would hold segment n only as
// early as everyone else needs it. So each member fetches its own planned
// segments of the window ahead as soon as they enter it, nearest first, one
// at a time; the members fetch different segments in parallel and the others
// take each from the one that fetched it. After a start or a seek the window
// fills ~N times faster than if every member fetched every segment.
// The room's fetches go nearly in order, two at a time: a member starts its
// segment once the room holds everything of the window before it but the one
// just before. Six members fetching six segments at once from a slow origin
// each get a sixth of it, and the nearest segment, the one everyone needs
// first, arrives as late as the farthest. Nothing is fetched ahead before
// the player's first load is done. The window starts a little before the end
// of the player's buffer, where other members' buffers may end.
import { concatBytes } from './bytes';
import { watchSilence } from './http-silence';
import { type PlayerWindow, windowAhead } from './player-window';
import { verifySegment } from './verify';

/** How often the window is looked at, ms. */
const TICK_MS = 250;
/** A failed fetch is not tried again for this long, ms. */
const RETRY_AFTER_MS = 2_000;
/** The room's fetches ahead under way at once, at most (one finishing, the next started). */
const ROOM_FETCHES_AT_ONCE = 2;
/**
 * How far apart members' buffers may end, s: the window starts this far
 * before the end of this player's. A fetcher whose own buffer ended past one
 * of its planned segments left it to nobody, and at a switch of rendition
 * every member behind it fetched that segment itself, seconds late.
 */
const BUFFER_SPREAD_SECS = 4;

export interface RoomPrefetchHooks extends PlayerWindow {
  /** Whether the room's plan names this member to fetch `sequence`. */
  mine: (sequence: number) => boolean;
  /** The segment's URL, once the player has loaded its rendition's playlist. */
  urlOf: (rendition: string, sequence: number) => string | undefined;
  /** Whether a peer holds it already (a member who joined later takes it from them). */
  heldByPeers: (rendition: string, sequence: number) => Promise<boolean>;
  /** A segment came over HTTP (verified, already in the cache) in `ms`. */
  onFetched: (rendition: string, sequence: number, bytes: number, ms: number) => void;
  /** Bytes of a fetch given up before its end (they crossed the origin all the same). */
  onPartial?: (rendition: string, bytes: number) => void;
  /** The player's own load of the segment is under way (after a fetch here failed): not fetched twice. */
  loading: (rendition: string, sequence: number) => boolean;
  /** A fetch that brings nothing for this long is given up, ms (http-silence.ts by default). */
  silenceMs?: number;
}

interface InFlight {
  rendition: string;
  sequence: number;
  /** Asked for by the player (not only fetched ahead). */
  asked: boolean;
  abort: AbortController;
  done: Promise<Uint8Array | undefined>;
}

const key = (rendition: string, sequence: number): string => `${rendition}/${sequence}`;

export class RoomPrefetch {
  readonly #hooks: RoomPrefetchHooks;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #failedAt = new Map<string, number>();
  #enabled = false;
  #silentLoads = 0;
  /** Whether the player has held the second it plays yet (its first load is done). */
  #playerHeldData = false;

  constructor(hooks: RoomPrefetchHooks) {
    this.#hooks = hooks;
    this.#timer = setInterval(() => this.tick(), TICK_MS);
  }

  /**
   * On while the room has a plan that includes this member (or, without a
   * room, while viewers in step split the segments ahead). Off drops the
   * fetches ahead, not one the player is waiting for.
   */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    if (!enabled) for (const f of [...this.#inFlight.values()]) if (!f.asked) this.#abort(f);
  }

  /** Fetches given up because they went silent (their connection died). */
  get silentLoads(): number {
    return this.#silentLoads;
  }

  /** Whether a fetch of this segment is under way. */
  fetching(rendition: string, sequence: number): boolean {
    return this.#inFlight.has(key(rendition, sequence));
  }

  /**
   * The player asks for one of this member's planned segments: the fetch
   * under way, or one started now beside the one ahead. Its bytes, or
   * undefined when it failed (or there is no URL for it yet).
   */
  fetchNow(rendition: string, sequence: number, signal: AbortSignal): Promise<Uint8Array | undefined> {
    const pending = this.#inFlight.get(key(rendition, sequence));
    const fetch = pending ?? this.#start(rendition, sequence, true);
    if (fetch === undefined) return Promise.resolve(undefined);
    // The player wants it now: a seek (or a destroyed player) ends the wait and the fetch.
    fetch.asked = true;
    const onAbort = (): void => this.#abort(fetch);
    signal.addEventListener('abort', onAbort, { once: true });
    return fetch.done.finally(() => signal.removeEventListener('abort', onAbort));
  }

  tick(): void {
    if (!this.#enabled) return;
    const rendition = this.#hooks.rendition();
    if (rendition === undefined) return;
    if (!this.#playerHeldData) {
      // At the start every member loads its first segment over HTTP (no link
      // is up yet) and the room starts once the last one can play: a fetch
      // ahead then only shares the origin with those loads (the room's first
      // frame came 0.8 s later than without P2P). After a seek it is the
      // other way round: members wait for the fetchers' copies, so the
      // fetches ahead go on.
      if (this.#hooks.bufferedTo() <= this.#hooks.playhead()) return;
      this.#playerHeldData = true;
    }
    // A seek or a rendition switch left fetches ahead behind: drop them (what
    // the player asked for is the player's to give up).
    for (const f of [...this.#inFlight.values()]) {
      if (!f.asked && (f.rendition !== rendition || !this.#inWindow(rendition, f.sequence))) this.#abort(f);
    }
    if ([...this.#inFlight.values()].some((f) => !f.asked)) return;
    const next = this.#nextWanted(rendition);
    if (next !== undefined) this.#start(rendition, next, false);
  }

  destroy(): void {
    this.#enabled = false;
    clearInterval(this.#timer);
    for (const f of [...this.#inFlight.values()]) this.#abort(f);
  }

  #window(rendition: string): [number, number] {
    const { playhead, bufferedTo } = this.#hooks;
    const from = (): number => Math.max(playhead(), bufferedTo() - BUFFER_SPREAD_SECS);
    return windowAhead({ ...this.#hooks, bufferedTo: from }, rendition);
  }

  #inWindow(rendition: string, sequence: number): boolean {
    const [from, to] = this.#window(rendition);
    return sequence >= from && sequence <= to;
  }

  /** The nearest planned segment of the window that is neither held, nor under way, nor recently failed. */
  #nextWanted(rendition: string): number | undefined {
    const [from, to] = this.#window(rendition);
    const now = performance.now();
    for (let sequence = from; sequence <= to; sequence++) {
      if (!this.#hooks.mine(sequence) || this.#hooks.cache.get(rendition, sequence) !== undefined) continue;
      if (this.#inFlight.has(key(rendition, sequence)) || this.#hooks.loading(rendition, sequence)) continue;
      if (now - (this.#failedAt.get(key(rendition, sequence)) ?? Number.NEGATIVE_INFINITY) < RETRY_AFTER_MS) continue;
      if (this.#hooks.urlOf(rendition, sequence) === undefined) continue;
      return sequence;
    }
    return undefined;
  }

  #start(rendition: string, sequence: number, asked: boolean): InFlight | undefined {
    const url = this.#hooks.urlOf(rendition, sequence);
    const info = this.#hooks.index.get(rendition, sequence);
    if (url === undefined || info === undefined) return undefined;
    const abort = new AbortController();
    const id = key(rendition, sequence);
    // Not the room's turn for it yet: looked at again on the next tick.
    let early = false;
    let silent = false;
    /** 1 once the headers came, then 1 + the body's bytes so far (see readBody). */
    let progress = 0;
    const done = (async (): Promise<Uint8Array | undefined> => {
      try {
        if (!asked && !(await this.#roomHoldsBefore(rendition, sequence))) {
          early = true;
          return undefined;
        }
        if (!asked && (await this.#hooks.heldByPeers(rendition, sequence))) {
          this.#failedAt.set(id, performance.now());
          return undefined;
        }
        const started = performance.now();
        // A fetch that goes silent (a dead connection) is given up: the player's own load tries anew.
        const stopWatching = watchSilence(
          () => progress,
          () => {
            silent = true;
            abort.abort();
          },
          this.#hooks.silenceMs,
        );
        const bytes = await readBody(url, abort.signal, info.sizeBytes, (now) => (progress = now)).finally(stopWatching);
        if (!(await verifySegment(bytes, info.sha256))) throw new Error('bad hash');
        this.#hooks.cache.put(rendition, sequence, bytes);
        this.#hooks.onFetched(rendition, sequence, bytes.length, performance.now() - started);
        return bytes;
      } catch {
        // The body bytes of a failed fetch crossed the origin all the same.
        if (progress > 1) this.#hooks.onPartial?.(rendition, progress - 1);
        if (silent) this.#silentLoads += 1;
        if (silent || !abort.signal.aborted) this.#failedAt.set(id, performance.now());
        return undefined;
      } finally {
        if (this.#inFlight.get(id)?.abort === abort) this.#inFlight.delete(id);
        // The next one at once, not at the next tick.
        if ((silent || !abort.signal.aborted) && !early) this.tick();
      }
    })();
    const inFlight: InFlight = { rendition, sequence, asked, abort, done };
    this.#inFlight.set(id, inFlight);
    return inFlight;
  }

  /** Whether this member or a peer holds every segment of the window before `sequence`, but the last few. */
  async #roomHoldsBefore(rendition: string, sequence: number): Promise<boolean> {
    const [from] = this.#window(rendition);
    for (let s = from; s <= sequence - ROOM_FETCHES_AT_ONCE; s++) {
      if (this.#hooks.cache.has(rendition, s)) continue;
      if (!(await this.#hooks.heldByPeers(rendition, s))) return false;
    }
    return true;
  }

  #abort(f: InFlight): void {
    f.abort.abort();
    this.#inFlight.delete(key(f.rendition, f.sequence));
  }
}

/**
 * The body at `url`, reporting progress (1 for the headers, then 1 + bytes so
 * far); a body longer than `maxBytes` (the catalog's size) is not the segment.
 */
async function readBody(url: string, signal: AbortSignal, maxBytes: number, onProgress: (progress: number) => void): Promise<Uint8Array> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  onProgress(1);
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    if (received > maxBytes) {
      void reader.cancel();
      throw new Error(`body longer than ${maxBytes} bytes`);
    }
    onProgress(1 + received);
  }
  return concatBytes(chunks);
}
