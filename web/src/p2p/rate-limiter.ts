// Upload caps: a token bucket per peer and one for all peers. A sender takes
// the bytes it is about to send from every bucket it is under, waiting while
// any of them is empty.

export class TokenBucket {
  readonly #bytesPerSec: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  /** `bytesPerSec` 0 means unlimited. The bucket holds at most one second's worth. */
  constructor(bytesPerSec: number, now: () => number = () => performance.now()) {
    this.#bytesPerSec = bytesPerSec;
    this.#burst = bytesPerSec;
    this.#now = now;
    this.#tokens = bytesPerSec;
    this.#at = now();
  }

  get unlimited(): boolean {
    return this.#bytesPerSec <= 0;
  }

  /** Ms to wait before `bytes` may be sent (0: now). Does not take them. */
  delayFor(bytes: number): number {
    if (this.unlimited) return 0;
    this.#refill();
    const missing = Math.min(bytes, this.#burst) - this.#tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.#bytesPerSec) * 1000);
  }

  take(bytes: number): void {
    if (this.unlimited) return;
    this.#refill();
    this.#tokens -= bytes;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#at) / 1000) * this.#bytesPerSec);
    this.#at = now;
  }
}

/** Waits until every bucket lets `bytes` through, then takes them from all. */
export async function throttle(buckets: TokenBucket[], bytes: number): Promise<void> {
  for (;;) {
    const wait = Math.max(0, ...buckets.map((b) => b.delayFor(bytes)));
    if (wait === 0) break;
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
  for (const bucket of buckets) bucket.take(bytes);
}
