// The offset between this browser's clock and the server's, from ping/pong
// samples on the room socket. A sample's error is at most half its round
// trip, so the estimate uses the samples with the smallest round trips in a
// sliding window: a burst of queueing delay never moves it much.

export interface ClockSample {
  rttMs: number;
  /** Server clock minus local clock, assuming the reply was sent mid-way. */
  offsetMs: number;
}

export class ClockOffset {
  readonly #window: number;
  readonly #best: number;
  readonly #samples: ClockSample[] = [];

  /** Keeps the last `window` samples and averages the `best` of them by round trip. */
  constructor(window = 16, best = 3) {
    this.#window = window;
    this.#best = best;
  }

  /** A pong: `sentAt` and `receivedAt` on the local clock, `serverMs` the server's time in it. */
  add(sentAt: number, serverMs: number, receivedAt: number): void {
    const rttMs = receivedAt - sentAt;
    if (!(rttMs >= 0)) return;
    this.#samples.push({ rttMs, offsetMs: serverMs - (sentAt + rttMs / 2) });
    if (this.#samples.length > this.#window) this.#samples.shift();
  }

  get sampleCount(): number {
    return this.#samples.length;
  }

  /** Server minus local, ms; undefined before the first sample. */
  get offsetMs(): number | undefined {
    const best = [...this.#samples].sort((a, b) => a.rttMs - b.rttMs).slice(0, this.#best);
    if (best.length === 0) return undefined;
    return best.reduce((sum, s) => sum + s.offsetMs, 0) / best.length;
  }

  /** The smallest round trip in the window, ms (half of it bounds the offset's error); undefined before the first sample. */
  get roundTripMs(): number | undefined {
    if (this.#samples.length === 0) return undefined;
    return Math.min(...this.#samples.map((s) => s.rttMs));
  }

  /** The server's clock now, given the local one. */
  serverTime(localNow: number): number {
    return localNow + (this.offsetMs ?? 0);
  }
}
