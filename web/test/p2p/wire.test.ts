// The TypeScript peer wire codec against the shared, byte-exact vectors that
// the Rust codec also passes (services/protocol/test-vectors/peer-wire.json).
import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { CHUNK_MAX, FRAME_MAX, WireError, type WireMessage, decode, encode } from '../../src/p2p/wire';

interface Vectors {
  valid: { name: string; message: Record<string, string | number>; hex: string }[];
  invalid: { name: string; hex: string; error: string }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../services/protocol/test-vectors/peer-wire.json', import.meta.url), 'utf8'),
) as Vectors;

const fromHex = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (b) => Number.parseInt(b, 16));
const toHex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function messageOf(json: Record<string, string | number>): WireMessage {
  const n = (key: string): number => Number(json[key]);
  switch (json.type) {
    case 'handshake':
      return { type: 'handshake', version: n('version') };
    case 'request':
      return { type: 'request', request: n('request'), segment: { rendition: String(json.rendition), sequence: n('sequence') }, offset: n('offset') };
    case 'data':
      return { type: 'data', request: n('request'), offset: n('offset'), bytes: fromHex(String(json.bytes)) };
    case 'done':
      return { type: 'done', request: n('request'), total: n('total') };
    case 'absent':
      return { type: 'absent', request: n('request') };
    case 'cancel':
      return { type: 'cancel', request: n('request') };
    default:
      throw new Error(`unknown vector type ${String(json.type)}`);
  }
}

describe('peer wire codec', () => {
  it.each(vectors.valid.map((v) => [v.name, v] as const))('encodes and decodes %s byte-exactly', (_name, vector) => {
    const message = messageOf(vector.message);
    expect(toHex(encode(message))).toBe(vector.hex);
    expect(decode(fromHex(vector.hex))).toEqual(message);
  });

  it.each(vectors.invalid.map((v) => [v.name, v] as const))('refuses %s', (_name, vector) => {
    let error: unknown;
    try {
      decode(fromHex(vector.hex));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WireError);
    expect((error as WireError).code).toBe(vector.error);
  });

  it('fits a full chunk and refuses one byte more as oversize', () => {
    const full: WireMessage = { type: 'data', request: 1, offset: 0, bytes: new Uint8Array(CHUNK_MAX).fill(7) };
    const frame = encode(full);
    expect(frame.length).toBe(FRAME_MAX);
    expect(decode(frame)).toEqual(full);
    const over = encode({ type: 'data', request: 1, offset: 0, bytes: new Uint8Array(CHUNK_MAX + 1) });
    expect(() => decode(over)).toThrow(expect.objectContaining({ code: 'oversize' }));
  });

  it('decodes frames that sit inside a larger buffer', () => {
    const frame = encode({ type: 'cancel', request: 77 });
    const padded = new Uint8Array(frame.length + 10);
    padded.set(frame, 5);
    expect(decode(padded.subarray(5, 5 + frame.length))).toEqual({ type: 'cancel', request: 77 });
  });
});
