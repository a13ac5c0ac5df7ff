// The peer wire protocol on one open data channel: the handshake, our
// requests and their downloads, and the uploads the other side asks for.
// Several requests may be in flight each way; uploads go one segment at a
// time, in order, throttled by the upload caps and by the channel's buffer
// (`bufferedAmount` / `bufferedamountlow`), and stop when cancelled.
import { concatBytes } from './bytes';
import { throttle, type TokenBucket } from './rate-limiter';
import { decode, encode, type SegmentId, WIRE_VERSION, WireError, type WireMessage } from './wire';

/** Bytes of segment per data message: well inside every implementation's message limit. */
export const UPLOAD_CHUNK = 32 * 1024;
/**
 * Above this many buffered bytes, uploads wait for `bufferedamountlow`. Kept
 * to a few round trips of a home uplink (5 Mbit/s × 80 ms is 50 kB): what sits
 * in the send buffer goes out even after its request was cancelled, ahead of
 * the next one, and several channels share the uplink. At 1 MiB a 480p
 * segment (420 kB) went whole into the buffer; three viewers asking one home
 * waited seconds for their first byte, gave up, asked again, and not one
 * transfer between homes finished.
 */
const HIGH_WATER = 128 * 1024;
const LOW_WATER = 32 * 1024;
/** Requests from the other side queued at once; more are answered `absent`. */
const MAX_QUEUED_UPLOADS = 16;

export type DownloadFailure = 'absent' | 'peer_closed' | 'cancelled' | 'protocol';

export class DownloadError extends Error {
  readonly reason: DownloadFailure;

  constructor(reason: DownloadFailure) {
    super(`peer download failed: ${reason}`);
    this.name = 'DownloadError';
    this.reason = reason;
  }
}

/** A request of ours in flight. */
export interface Download {
  readonly segment: SegmentId;
  readonly startedAt: number;
  received: number;
  lastProgressAt: number;
  readonly result: Promise<Uint8Array>;
  /** The bytes received so far, from the start (still there after a cancel). */
  receivedBytes(): Uint8Array;
  cancel(): void;
}

export interface LinkHooks {
  /** The bytes of a segment to upload; undefined when not held or uploading is off. */
  provide(segment: SegmentId): Uint8Array | undefined;
  /** Caps this upload is under (this peer's and everyone's). */
  uploadBuckets: TokenBucket[];
  onUploaded(bytes: number, segment: SegmentId): void;
  onDownloaded(bytes: number): void;
  /** The other side broke the protocol; the link is closed after this. */
  onViolation(code: string): void;
}

interface PendingDownload {
  download: Download;
  expectedBytes: number;
  chunks: Uint8Array[];
  resolve: (bytes: Uint8Array) => void;
  reject: (error: DownloadError) => void;
}

interface Upload {
  request: number;
  segment: SegmentId;
  offset: number;
  cancelled: boolean;
}

export class PeerLink {
  readonly #channel: RTCDataChannel;
  readonly #hooks: LinkHooks;
  readonly #downloads = new Map<number, PendingDownload>();
  readonly #uploads: Upload[] = [];
  #nextRequest = 1;
  #pumping = false;
  #closed = false;
  #handshaken = false;
  readonly ready: Promise<void>;
  #readyResolve: () => void = () => {};
  #readyReject: (error: Error) => void = () => {};
  lastActivityAt = performance.now();

  constructor(channel: RTCDataChannel, hooks: LinkHooks) {
    this.#channel = channel;
    this.#hooks = hooks;
    this.ready = new Promise((resolve, reject) => {
      this.#readyResolve = resolve;
      this.#readyReject = reject;
    });
    // Nobody may be waiting on `ready` when the link fails early.
    this.ready.catch(() => {});
    channel.binaryType = 'arraybuffer';
    channel.bufferedAmountLowThreshold = LOW_WATER;
    channel.addEventListener('message', (event: MessageEvent<unknown>) => this.#receive(event.data));
    channel.addEventListener('close', () => this.close());
    if (channel.readyState === 'open') this.#send({ type: 'handshake', version: WIRE_VERSION });
    else channel.addEventListener('open', () => this.#send({ type: 'handshake', version: WIRE_VERSION }), { once: true });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Our requests waiting on the other side. */
  get downloads(): Download[] {
    return [...this.#downloads.values()].map((p) => p.download);
  }

  /** Asks for a segment of `expectedBytes` (the catalog's size). */
  request(segment: SegmentId, expectedBytes: number): Download {
    const request = this.#nextRequest++;
    let resolve: (bytes: Uint8Array) => void = () => {};
    let reject: (error: DownloadError) => void = () => {};
    const result = new Promise<Uint8Array>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const now = performance.now();
    const chunks: Uint8Array[] = [];
    const download: Download = {
      segment,
      startedAt: now,
      received: 0,
      lastProgressAt: now,
      result,
      receivedBytes: () => concatBytes(chunks),
      cancel: () => {
        if (!this.#downloads.has(request)) return;
        this.#send({ type: 'cancel', request });
        this.#finish(request, new DownloadError('cancelled'));
      },
    };
    this.#downloads.set(request, { download, expectedBytes, chunks, resolve, reject });
    if (this.#closed) this.#finish(request, new DownloadError('peer_closed'));
    else this.#send({ type: 'request', request, segment, offset: 0 });
    return download;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const request of [...this.#downloads.keys()]) this.#finish(request, new DownloadError('peer_closed'));
    for (const upload of this.#uploads) upload.cancelled = true;
    this.#uploads.length = 0;
    this.#readyReject(new Error('the peer link closed'));
    if (this.#channel.readyState === 'open' || this.#channel.readyState === 'connecting') this.#channel.close();
  }

  #send(message: WireMessage): void {
    if (this.#closed || this.#channel.readyState !== 'open') return;
    this.#channel.send(encode(message) as Uint8Array<ArrayBuffer>);
    this.lastActivityAt = performance.now();
  }

  #violation(code: string): void {
    this.#hooks.onViolation(code);
    this.close();
  }

  #receive(data: unknown): void {
    if (this.#closed) return;
    if (!(data instanceof ArrayBuffer)) {
      this.#violation('text_frame');
      return;
    }
    let message: WireMessage;
    try {
      message = decode(new Uint8Array(data));
    } catch (error) {
      this.#violation(error instanceof WireError ? error.code : 'undecodable');
      return;
    }
    this.lastActivityAt = performance.now();
    if (!this.#handshaken) {
      if (message.type !== 'handshake') return this.#violation('handshake_required');
      if (message.version !== WIRE_VERSION) return this.#violation('unsupported_version');
      this.#handshaken = true;
      this.#readyResolve();
      return;
    }
    switch (message.type) {
      case 'handshake':
        return this.#violation('repeated_handshake');
      case 'request':
        return this.#queueUpload(message.request, message.segment, message.offset);
      case 'cancel': {
        const upload = this.#uploads.find((u) => u.request === message.request);
        if (upload !== undefined) upload.cancelled = true;
        return;
      }
      case 'data':
        return this.#received(message.request, message.offset, message.bytes);
      case 'done':
        return this.#done(message.request, message.total);
      case 'absent':
        if (this.#downloads.has(message.request)) this.#finish(message.request, new DownloadError('absent'));
        return;
    }
  }

  #received(request: number, offset: number, bytes: Uint8Array): void {
    const pending = this.#downloads.get(request);
    // Chunks of a request we cancelled may still be on the way.
    if (pending === undefined) return;
    const { download } = pending;
    if (offset !== download.received) return this.#violation('out_of_order');
    if (download.received + bytes.length > pending.expectedBytes) return this.#violation('oversize_segment');
    // The message buffer is ours alone; keep a view rather than a copy.
    pending.chunks.push(bytes);
    download.received += bytes.length;
    download.lastProgressAt = performance.now();
    this.#hooks.onDownloaded(bytes.length);
  }

  #done(request: number, total: number): void {
    const pending = this.#downloads.get(request);
    if (pending === undefined) return;
    if (total !== pending.download.received || total !== pending.expectedBytes) return this.#violation('short_segment');
    this.#downloads.delete(request);
    pending.resolve(concatBytes(pending.chunks));
  }

  #finish(request: number, error: DownloadError): void {
    const pending = this.#downloads.get(request);
    if (pending === undefined) return;
    this.#downloads.delete(request);
    pending.reject(error);
  }

  #queueUpload(request: number, segment: SegmentId, offset: number): void {
    if (this.#uploads.length >= MAX_QUEUED_UPLOADS || this.#hooks.provide(segment) === undefined) {
      this.#send({ type: 'absent', request });
      return;
    }
    this.#uploads.push({ request, segment, offset, cancelled: false });
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (let upload = this.#uploads[0]; upload !== undefined; upload = this.#uploads[0]) {
        await this.#upload(upload);
        this.#uploads.shift();
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #upload(upload: Upload): Promise<void> {
    // Looked up again: the segment may have left the cache while queued.
    const bytes = this.#hooks.provide(upload.segment);
    if (bytes === undefined || upload.offset > bytes.length) {
      this.#send({ type: 'absent', request: upload.request });
      return;
    }
    for (let at = upload.offset; at < bytes.length; at += UPLOAD_CHUNK) {
      if (upload.cancelled || this.#closed) return;
      const chunk = bytes.subarray(at, Math.min(at + UPLOAD_CHUNK, bytes.length));
      await throttle(this.#hooks.uploadBuckets, chunk.length);
      await this.#drained();
      if (upload.cancelled || this.#closed) return;
      this.#send({ type: 'data', request: upload.request, offset: at, bytes: chunk });
      this.#hooks.onUploaded(chunk.length, upload.segment);
    }
    this.#send({ type: 'done', request: upload.request, total: bytes.length - upload.offset });
  }

  /** Resolves once the channel's send buffer is below the high-water mark. */
  #drained(): Promise<void> {
    if (this.#channel.bufferedAmount <= HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#channel.removeEventListener('bufferedamountlow', done);
        this.#channel.removeEventListener('close', done);
        resolve();
      };
      this.#channel.addEventListener('bufferedamountlow', done);
      this.#channel.addEventListener('close', done);
    });
  }
}
