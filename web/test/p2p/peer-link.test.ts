// The peer wire protocol on a link, over an in-memory pair of channels that
// behave like data channels (ordered, binary, a send buffer that drains):
// handshake, a download, absent, cancel, upload off, caps, and a peer that
// breaks the protocol.
import { describe, expect, it } from 'vitest';

import { DownloadError, type LinkHooks, PeerLink, UPLOAD_CHUNK } from '../../src/p2p/peer-link';
import { TokenBucket } from '../../src/p2p/rate-limiter';
import { encode } from '../../src/p2p/wire';

/** The subset of RTCDataChannel a PeerLink uses, delivering to a partner asynchronously. */
class MemoryChannel extends EventTarget {
  partner: MemoryChannel | undefined;
  readyState: RTCDataChannelState = 'open';
  binaryType: BinaryType = 'arraybuffer';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  sent = 0;
  /** How long a message sits in the send buffer: a slow uplink when above 0. */
  drainMs = 0;

  send(data: Uint8Array): void {
    if (this.readyState !== 'open') throw new Error('closed');
    this.sent += 1;
    this.bufferedAmount += data.length;
    const copy = data.slice().buffer;
    setTimeout(() => {
      this.bufferedAmount -= data.length;
      if (this.bufferedAmount <= this.bufferedAmountLowThreshold) this.dispatchEvent(new Event('bufferedamountlow'));
      this.partner?.dispatchEvent(new MessageEvent('message', { data: copy }));
    }, this.drainMs);
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.dispatchEvent(new Event('close'));
    this.partner?.close();
  }
}

function pair(): [MemoryChannel, MemoryChannel] {
  const a = new MemoryChannel();
  const b = new MemoryChannel();
  a.partner = b;
  b.partner = a;
  return [a, b];
}

const segment = { rendition: '720p', sequence: 7 };
const bytes = Uint8Array.from({ length: 3 * UPLOAD_CHUNK + 123 }, (_, i) => i % 251);

function hooks(overrides: Partial<LinkHooks> = {}): LinkHooks & { uploaded: number; violations: string[] } {
  const state = {
    uploaded: 0,
    violations: [] as string[],
    provide: (s: { rendition: string; sequence: number }) => (s.sequence === 7 ? bytes : undefined),
    uploadBuckets: [],
    onUploaded: (n: number) => {
      state.uploaded += n;
    },
    onDownloaded: () => {},
    onViolation: (code: string) => {
      state.violations.push(code);
    },
    ...overrides,
  };
  return state;
}

function links(serverHooks = hooks(), clientHooks = hooks()): { client: PeerLink; server: PeerLink; a: MemoryChannel; b: MemoryChannel } {
  const [a, b] = pair();
  const client = new PeerLink(a as unknown as RTCDataChannel, clientHooks);
  const server = new PeerLink(b as unknown as RTCDataChannel, serverHooks);
  return { client, server, a, b };
}

describe('peer link', () => {
  it('downloads a segment in chunks after the handshake', async () => {
    const server = hooks();
    const { client } = links(server);
    await client.ready;
    const download = client.request(segment, bytes.length);
    expect(await download.result).toEqual(bytes);
    expect(download.received).toBe(bytes.length);
    expect(server.uploaded).toBe(bytes.length);
    expect(client.downloads).toEqual([]);
  });

  it('answers absent for segments it does not hold or when uploading is off', async () => {
    const { client } = links(hooks({ provide: () => undefined }));
    await client.ready;
    await expect(client.request(segment, bytes.length).result).rejects.toEqual(new DownloadError('absent'));
  });

  it('stops uploading when cancelled', async () => {
    const server = hooks({ uploadBuckets: [new TokenBucket(UPLOAD_CHUNK)] });
    const { client } = links(server);
    await client.ready;
    const download = client.request(segment, bytes.length);
    await expect.poll(() => download.received).toBeGreaterThan(0);
    download.cancel();
    await expect(download.result).rejects.toEqual(new DownloadError('cancelled'));
    const sentAtCancel = server.uploaded;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(server.uploaded - sentAtCancel, 'at most the chunk already under way').toBeLessThanOrEqual(UPLOAD_CHUNK);
    expect(server.uploaded).toBeLessThan(bytes.length);
    // What had come stays readable, so that HTTP need fetch only the rest.
    const head = download.receivedBytes();
    expect(head.length).toBe(download.received);
    expect(head.length).toBeGreaterThan(0);
    expect(head).toEqual(bytes.subarray(0, head.length));
  });

  it('keeps a few round trips of a home uplink in the send buffer, not a whole segment', async () => {
    const big = new Uint8Array(12 * UPLOAD_CHUNK);
    const { client, b } = links(hooks({ provide: () => big }));
    await client.ready;
    b.drainMs = 200;
    const download = client.request({ rendition: '480p', sequence: 3 }, big.length);
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, b.bufferedAmount)), 5);
    await download.result;
    clearInterval(watch);
    // What is buffered goes out even if the request is cancelled, ahead of the next one.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(128 * 1024 + UPLOAD_CHUNK + 64);
  });

  it('keeps to the upload cap', async () => {
    const rate = 2 * UPLOAD_CHUNK;
    const { client } = links(hooks({ uploadBuckets: [new TokenBucket(rate)] }));
    await client.ready;
    const started = performance.now();
    await client.request(segment, bytes.length).result;
    const seconds = (performance.now() - started) / 1000;
    // One second's worth goes at once (the bucket starts full), the rest at the rate.
    expect(seconds).toBeGreaterThanOrEqual((bytes.length - rate) / rate - 0.1);
  });

  it('fails downloads in flight when the other side goes away', async () => {
    const { client, b } = links(hooks({ uploadBuckets: [new TokenBucket(UPLOAD_CHUNK)] }));
    await client.ready;
    const download = client.request(segment, bytes.length);
    await expect.poll(() => download.received).toBeGreaterThan(0);
    b.close();
    await expect(download.result).rejects.toEqual(new DownloadError('peer_closed'));
  });

  it('closes on a protocol violation and says which', async () => {
    const client = hooks();
    const [a, b] = pair();
    const link = new PeerLink(a as unknown as RTCDataChannel, client);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // The other side skips the handshake.
    b.send(encode({ type: 'request', request: 1, segment, offset: 0 }));
    await expect(link.ready).rejects.toThrow('closed');
    expect(client.violations).toEqual(['handshake_required']);
    expect(link.closed).toBe(true);
  });

  it('refuses a segment longer than the catalog says', async () => {
    const client = hooks();
    const { client: link } = links(hooks(), client);
    await link.ready;
    await expect(link.request(segment, bytes.length - 1).result).rejects.toEqual(new DownloadError('peer_closed'));
    expect(client.violations).toEqual(['oversize_segment']);
  });
});
