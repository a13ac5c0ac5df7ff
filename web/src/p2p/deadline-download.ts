// One segment from one peer, against the player's clock: the transfer is
// watched while it runs and given up (for HTTP) as soon as it stalls, would
// finish too late, or the player no longer wants it.
import { type PeerEntry, quietestLink } from './peer-pool';
import { type Download, DownloadError } from './peer-link';
import { type AbandonPolicy, DEFAULT_ABANDON, shouldAbandon } from './source-choice';
import type { HttpReason } from './types';
import type { SegmentId } from './wire';

/** A peer transfer given up: why, and what it had brought (HTTP fetches only the rest). */
export interface GivenUp {
  reason: HttpReason;
  received: Uint8Array;
}

/** How often a peer transfer is checked against its deadline, ms. */
const WATCH_EVERY_MS = 200;

/**
 * Downloads `segment` over the least busy open lane to a peer; resolves with its bytes (not yet
 * verified) or with why HTTP should take over and the bytes that had come.
 * `until` gives the seconds left before the player needs it. Measures the
 * peer's throughput.
 */
export async function downloadBeforeDeadline(
  entry: PeerEntry,
  segment: SegmentId,
  sizeBytes: number,
  until: () => number,
  signal: AbortSignal,
  policy: AbandonPolicy = DEFAULT_ABANDON,
  onProgress: (received: number) => void = () => {},
): Promise<Uint8Array | GivenUp> {
  const download = quietestLink(entry).request(segment, sizeBytes);
  const abandon = watchDeadline(download, sizeBytes, until, signal, policy, onProgress);
  let bytes: Uint8Array | HttpReason;
  try {
    bytes = await Promise.race([download.result, abandon.reason]);
  } catch (error) {
    const failure = error instanceof DownloadError ? error.reason : 'peer_closed';
    const reason = failure === 'absent' ? 'absent' : failure === 'cancelled' ? 'stalled' : 'peer_closed';
    return { reason, received: download.receivedBytes() };
  } finally {
    abandon.stop();
  }
  if (typeof bytes === 'string') {
    download.cancel();
    return { reason: bytes, received: download.receivedBytes() };
  }
  const seconds = Math.max(performance.now() - download.startedAt, 1) / 1000;
  entry.downloadBytesPerSec = bytes.length / seconds;
  return bytes;
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
  policy: AbandonPolicy,
  onProgress: (received: number) => void,
): { reason: Promise<HttpReason>; stop: () => void } {
  let timer: ReturnType<typeof setInterval> | undefined;
  let onAbort = (): void => {};
  const reason = new Promise<HttpReason>((resolve) => {
    onAbort = () => resolve('stalled');
    signal.addEventListener('abort', onAbort, { once: true });
    let reported = 0;
    timer = setInterval(() => {
      const now = performance.now();
      if (download.received > reported) onProgress((reported = download.received));
      const verdict = shouldAbandon(
        {
          segmentBytes: sizeBytes,
          bytesReceived: download.received,
          secondsElapsed: (now - download.startedAt) / 1000,
          secondsSinceProgress: (now - download.lastProgressAt) / 1000,
          secondsUntilNeeded: until(),
        },
        policy,
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
