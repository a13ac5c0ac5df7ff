// An HTTP load whose connection died in the middle says nothing. When a
// home's router takes a new public address it forgets its TCP flows: the
// origin's answer goes on to the old address, and the browser waits for bytes
// that never come, without an error (hls.js gives a fragment 10 s to a first
// byte and 120 s to its end; a plain fetch has no limit at all). A new request
// leaves from the new address and is answered at once. So a load that has
// brought nothing, not even its headers, for a few seconds is given up and
// made again: a live connection, even a slow one, delivers something every
// few hundred ms.

/** A load silent for this long is given up and made again, ms. */
export const HTTP_SILENCE_MS = 2_500;
/** How often a load's progress is looked at, ms. */
const LOOK_EVERY_MS = 250;

/**
 * Calls `onSilent` once when `progress()` (any count that grows while the
 * load advances: headers, then bytes) stays the same for `silenceMs`.
 * Returns the function that stops watching.
 */
export function watchSilence(progress: () => number, onSilent: () => void, silenceMs = HTTP_SILENCE_MS): () => void {
  let seen = progress();
  let changedAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    let current: number;
    try {
      current = progress();
    } catch {
      // The load is gone (its loader destroyed): nothing left to watch.
      clearInterval(timer);
      return;
    }
    if (current !== seen) {
      seen = current;
      changedAt = now;
    } else if (now - changedAt >= silenceMs) {
      clearInterval(timer);
      onSilent();
    }
  }, Math.min(LOOK_EVERY_MS, silenceMs));
  return () => clearInterval(timer);
}
