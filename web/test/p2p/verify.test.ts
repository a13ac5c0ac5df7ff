import { describe, expect, it } from 'vitest';

import { hasher, sha256Hex, verifySegment } from '../../src/p2p/verify';

describe('segment verification', () => {
  it('hashes like the catalog does (SHA-256, lowercase hex)', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('accepts the right bytes and refuses a single flipped bit', async () => {
    const segment = new Uint8Array(200_000).map((_, i) => i % 251);
    const expected = await sha256Hex(segment);
    expect(await verifySegment(segment, expected)).toBe(true);
    expect(await verifySegment(segment, expected.toUpperCase())).toBe(true);
    const corrupted = segment.slice();
    corrupted[123_456] = (corrupted[123_456] ?? 0) ^ 1;
    expect(await verifySegment(corrupted, expected)).toBe(false);
  });

  it('hashes without Web Crypto, as a page over plain HTTP must, and agrees with it', async () => {
    const withoutSubtle = hasher(undefined);
    expect(withoutSubtle).not.toBe(hasher(crypto.subtle));
    for (const size of [0, 1, 63, 64, 65, 100_000, 1_048_577]) {
      const bytes = new Uint8Array(size).map((_, i) => (i * 31 + size) % 256);
      expect(await sha256Hex(bytes, withoutSubtle), `${size} bytes`).toBe(await sha256Hex(bytes, hasher(crypto.subtle)));
    }
  });
});
