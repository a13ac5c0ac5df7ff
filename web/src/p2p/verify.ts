// Segments from peers are checked against the catalog's SHA-256 before the
// player sees them. Web Crypto is used where the page has it; a page opened
// over plain HTTP at any address but localhost is not a secure context and has
// no `crypto.subtle`, so there the audited pure-JS SHA-256 of @noble/hashes
// does the same job: about 15 ms per MiB in V8 here, against 2 ms, which is
// a few ms per segment.

import { sha256 } from '@noble/hashes/sha2.js';

type Digest = (bytes: Uint8Array) => Promise<Uint8Array>;

const webCrypto: Digest = async (bytes) =>
  new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
const pureJs: Digest = (bytes) => Promise.resolve(sha256(bytes));

/** Web Crypto when the page has it (a secure context), else pure JS. */
export function hasher(subtle: SubtleCrypto | undefined): Digest {
  return subtle === undefined ? pureJs : webCrypto;
}

const pageDigest = hasher(globalThis.crypto?.subtle);

export async function sha256Hex(bytes: Uint8Array, digest: Digest = pageDigest): Promise<string> {
  return Array.from(await digest(bytes), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** True when `bytes` hash to `expectedHex` (lowercase hex, as the manifest gives it). */
export async function verifySegment(bytes: Uint8Array, expectedHex: string): Promise<boolean> {
  return (await sha256Hex(bytes)) === expectedHex.toLowerCase();
}
