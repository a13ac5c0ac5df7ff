// The segments this viewer holds: what it plays from and what it uploads to
// peers. Bounded in bytes, least recently used first out, except the window
// around the playhead, which is pinned so the segments about to play (and
// most wanted by peers just behind) are never evicted. Every entry and exit
// is reported so holdings deltas can go to the tracker.

export interface SegmentCacheOptions {
  /** Most bytes held outside the pinned window. */
  capacityBytes: number;
  onAdded?: (rendition: string, sequence: number) => void;
  onDropped?: (rendition: string, sequence: number) => void;
}

interface Entry {
  rendition: string;
  sequence: number;
  bytes: Uint8Array;
}

const keyOf = (rendition: string, sequence: number): string => `${rendition}/${sequence}`;

export class SegmentCache {
  readonly #options: SegmentCacheOptions;
  /** Map order is recency order: oldest first. */
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;
  #pinned: { from: number; to: number } | undefined;

  constructor(options: SegmentCacheOptions) {
    this.#options = options;
  }

  get sizeBytes(): number {
    return this.#bytes;
  }

  has(rendition: string, sequence: number): boolean {
    return this.#entries.has(keyOf(rendition, sequence));
  }

  /** The segment's bytes, marking it recently used. */
  get(rendition: string, sequence: number): Uint8Array | undefined {
    const key = keyOf(rendition, sequence);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.bytes;
  }

  put(rendition: string, sequence: number, bytes: Uint8Array): void {
    const key = keyOf(rendition, sequence);
    const existing = this.#entries.get(key);
    if (existing !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= existing.bytes.length;
    }
    this.#entries.set(key, { rendition, sequence, bytes });
    this.#bytes += bytes.length;
    if (existing === undefined) this.#options.onAdded?.(rendition, sequence);
    this.#evict();
  }

  /** Pins sequences `from..=to` (of every rendition) against eviction. */
  pinWindow(from: number, to: number): void {
    this.#pinned = { from, to };
    this.#evict();
  }

  /** Sequences held of one rendition, ascending. */
  holdings(rendition: string): number[] {
    return [...this.#entries.values()].filter((e) => e.rendition === rendition).map((e) => e.sequence).sort((a, b) => a - b);
  }

  #isPinned(entry: Entry): boolean {
    return this.#pinned !== undefined && entry.sequence >= this.#pinned.from && entry.sequence <= this.#pinned.to;
  }

  #evict(): void {
    const unpinnedBytes = (): number =>
      [...this.#entries.values()].filter((e) => !this.#isPinned(e)).reduce((sum, e) => sum + e.bytes.length, 0);
    let over = unpinnedBytes() - this.#options.capacityBytes;
    if (over <= 0) return;
    for (const [key, entry] of this.#entries) {
      if (over <= 0) break;
      if (this.#isPinned(entry)) continue;
      this.#entries.delete(key);
      this.#bytes -= entry.bytes.length;
      over -= entry.bytes.length;
      this.#options.onDropped?.(entry.rendition, entry.sequence);
    }
  }
}
