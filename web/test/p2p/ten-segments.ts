// A rendition for the fetch-ahead tests: ten 2 s segments of 100 bytes, segment
// n filled with n, with their real SHA-256.
import { createHash } from 'node:crypto';

import { SegmentIndex } from '../../src/p2p/segment-index';

export const segment = (n: number): Uint8Array => new Uint8Array(100).fill(n);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export const index = new SegmentIndex({
  movie_id: 'm',
  renditions: [
    {
      name: '240p',
      kind: 'video',
      durations_ms: Array.from({ length: 10 }, () => 2000),
      sizes_bytes: Array.from({ length: 10 }, () => 100),
      sha256: Array.from({ length: 10 }, (_, n) => sha256(segment(n))),
    },
  ],
} as never);
