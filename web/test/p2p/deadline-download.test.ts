import { describe, expect, it } from 'vitest';

import { downloadBeforeDeadline } from '../../src/p2p/deadline-download';
import type { Download } from '../../src/p2p/peer-link';
import type { PeerEntry } from '../../src/p2p/peer-pool';

/** A peer whose transfer of 100 kB arrives in four parts, 250 ms apart. */
function slowPeer(): { entry: PeerEntry; download: Download } {
  let finish: (bytes: Uint8Array) => void = () => {};
  const download: Download = {
    startedAt: performance.now(),
    received: 0,
    lastProgressAt: performance.now(),
    result: new Promise((resolve) => (finish = resolve)),
    receivedBytes: () => new Uint8Array(download.received).fill(7),
    cancel: () => {},
  } as Download;
  let part = 0;
  const timer = setInterval(() => {
    part += 1;
    download.received = part * 25_000;
    download.lastProgressAt = performance.now();
    if (part === 4) {
      clearInterval(timer);
      finish(new Uint8Array(100_000));
    }
  }, 250);
  const lane = { link: { request: () => download, downloads: [], closed: false }, connection: { channel: { readyState: 'open' } } };
  const entry = { first: lane, more: new Map(), downloadBytesPerSec: 0 } as unknown as PeerEntry;
  return { entry, download };
}

describe('a peer transfer against the deadline', () => {
  it('reports its progress while it runs, so the player can judge it as it would an HTTP load', async () => {
    const { entry } = slowPeer();
    const seen: number[] = [];
    const bytes = await downloadBeforeDeadline(
      entry,
      { rendition: '480p', sequence: 3 },
      100_000,
      () => 30,
      new AbortController().signal,
      undefined,
      (received) => seen.push(received),
    );
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.every((r) => r > 0 && r <= 100_000)).toBe(true);
    expect(entry.downloadBytesPerSec).toBeGreaterThan(0);
  });

  it('keeps what the peer sent when the transfer is given up, for HTTP to fetch only the rest', async () => {
    const { entry } = slowPeer();
    const started = performance.now();
    // 25 kB every 250 ms will not bring 100 kB with the 3 s kept for HTTP: given up as late.
    const until = (): number => 4.5 - (performance.now() - started) / 1000;
    const outcome = await downloadBeforeDeadline(entry, { rendition: '480p', sequence: 3 }, 100_000, until, new AbortController().signal);
    expect(outcome).not.toBeInstanceOf(Uint8Array);
    if (outcome instanceof Uint8Array) return;
    expect(outcome.reason).toBe('late');
    expect(outcome.received.length).toBeGreaterThan(0);
    expect(outcome.received.length).toBeLessThan(100_000);
  });
});
