// The peer wire protocol, as services/protocol/src/peer_wire.rs defines it:
// binary frames `u32 length (big-endian) | u8 type | payload` on a WebRTC data
// channel. Both codecs pass services/protocol/test-vectors/peer-wire.json.

export const WIRE_VERSION = 1;
/** Most bytes in one data message. */
export const CHUNK_MAX = 64 * 1024;
export const RENDITION_MAX = 32;
/** Largest frame: a full chunk and its header. */
export const FRAME_MAX = 4 + 1 + 8 + CHUNK_MAX;

export interface SegmentId {
  rendition: string;
  sequence: number;
}

export type WireMessage =
  | { type: 'handshake'; version: number }
  | { type: 'request'; request: number; segment: SegmentId; offset: number }
  | { type: 'data'; request: number; offset: number; bytes: Uint8Array }
  | { type: 'done'; request: number; total: number }
  | { type: 'absent'; request: number }
  | { type: 'cancel'; request: number };

/** Stable codes, the same as the Rust codec's. */
export type WireErrorCode = 'truncated' | 'oversize' | 'unknown_type' | 'bad_length' | 'empty_chunk' | 'bad_rendition';

export class WireError extends Error {
  readonly code: WireErrorCode;

  constructor(code: WireErrorCode) {
    super(`peer wire: ${code}`);
    this.name = 'WireError';
    this.code = code;
  }
}

const TYPE = { handshake: 1, request: 2, data: 3, done: 4, absent: 5, cancel: 6 } as const;
const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export function encode(message: WireMessage): Uint8Array {
  let body: Uint8Array;
  switch (message.type) {
    case 'handshake':
      body = bytesOf(2, (v) => v.setUint16(0, message.version));
      break;
    case 'request': {
      const name = utf8.encode(message.segment.rendition).subarray(0, RENDITION_MAX);
      body = bytesOf(4 + 1 + name.length + 8, (v, b) => {
        v.setUint32(0, message.request);
        v.setUint8(4, name.length);
        b.set(name, 5);
        v.setUint32(5 + name.length, message.segment.sequence);
        v.setUint32(9 + name.length, message.offset);
      });
      break;
    }
    case 'data':
      body = bytesOf(8 + message.bytes.length, (v, b) => {
        v.setUint32(0, message.request);
        v.setUint32(4, message.offset);
        b.set(message.bytes, 8);
      });
      break;
    case 'done':
      body = bytesOf(8, (v) => {
        v.setUint32(0, message.request);
        v.setUint32(4, message.total);
      });
      break;
    case 'absent':
    case 'cancel':
      body = bytesOf(4, (v) => v.setUint32(0, message.request));
      break;
  }
  const frame = new Uint8Array(5 + body.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, body.length + 1);
  view.setUint8(4, TYPE[message.type]);
  frame.set(body, 5);
  return frame;
}

/** Decodes exactly one frame; throws `WireError` on anything malformed. */
export function decode(frame: Uint8Array): WireMessage {
  if (frame.length > FRAME_MAX) throw new WireError('oversize');
  const reader = new Reader(frame);
  const length = reader.u32();
  if (length !== reader.remaining()) throw new WireError(length > reader.remaining() ? 'truncated' : 'bad_length');
  const kind = reader.u8();
  let message: WireMessage;
  switch (kind) {
    case TYPE.handshake:
      message = { type: 'handshake', version: reader.u16() };
      break;
    case TYPE.request: {
      const request = reader.u32();
      const nameLength = reader.u8();
      if (nameLength === 0 || nameLength > RENDITION_MAX) throw new WireError('bad_rendition');
      let rendition: string;
      try {
        rendition = strictUtf8.decode(reader.take(nameLength));
      } catch (error) {
        if (error instanceof WireError) throw error;
        throw new WireError('bad_rendition');
      }
      const sequence = reader.u32();
      message = { type: 'request', request, segment: { rendition, sequence }, offset: reader.u32() };
      break;
    }
    case TYPE.data: {
      const request = reader.u32();
      const offset = reader.u32();
      const bytes = reader.rest();
      if (bytes.length === 0) throw new WireError('empty_chunk');
      return { type: 'data', request, offset, bytes };
    }
    case TYPE.done:
      message = { type: 'done', request: reader.u32(), total: reader.u32() };
      break;
    case TYPE.absent:
      message = { type: 'absent', request: reader.u32() };
      break;
    case TYPE.cancel:
      message = { type: 'cancel', request: reader.u32() };
      break;
    default:
      throw new WireError('unknown_type');
  }
  if (reader.remaining() !== 0) throw new WireError('bad_length');
  return message;
}

function bytesOf(length: number, fill: (view: DataView, bytes: Uint8Array) => void): Uint8Array {
  const bytes = new Uint8Array(length);
  fill(new DataView(bytes.buffer), bytes);
  return bytes;
}

class Reader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #at = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  remaining(): number {
    return this.#bytes.length - this.#at;
  }

  take(n: number): Uint8Array {
    if (this.remaining() < n) throw new WireError('truncated');
    const slice = this.#bytes.subarray(this.#at, this.#at + n);
    this.#at += n;
    return slice;
  }

  u8(): number {
    return this.take(1)[0] ?? 0;
  }

  u16(): number {
    if (this.remaining() < 2) throw new WireError('truncated');
    const value = this.#view.getUint16(this.#at);
    this.#at += 2;
    return value;
  }

  u32(): number {
    if (this.remaining() < 4) throw new WireError('truncated');
    const value = this.#view.getUint32(this.#at);
    this.#at += 4;
    return value;
  }

  rest(): Uint8Array {
    return this.take(this.remaining());
  }
}
