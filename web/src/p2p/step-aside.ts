// Whether peers are worth waiting for now. Between homes on a bad link (300 ms
// round trips, 2 % loss each way) not one peer transfer finished in a whole
// run, and waiting for each before HTTP took seconds of the player's buffer.
// After a few transfers in a row fail, segments go straight to HTTP for a
// while; then peers get another try.

/** Peer transfers failed in a row before peers are set aside. */
const FAILURES_IN_A_ROW = 3;
/** How long peers stay set aside, ms. */
const ASIDE_MS = 30_000;

export class StepAside {
  #failedInARow = 0;
  #asideUntil = Number.NEGATIVE_INFINITY;

  /** Whether segments should skip peers now. */
  aside(now = performance.now()): boolean {
    return now < this.#asideUntil;
  }

  /** A segment came from a peer. */
  succeeded(): void {
    this.#failedInARow = 0;
  }

  /** A transfer from a peer was given up (it never started, stopped or would be late). */
  failed(now = performance.now()): void {
    this.#failedInARow += 1;
    if (this.#failedInARow < FAILURES_IN_A_ROW) return;
    this.#failedInARow = 0;
    this.#asideUntil = now + ASIDE_MS;
  }
}
