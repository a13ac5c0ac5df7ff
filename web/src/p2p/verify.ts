// Segments from peers are checked against the catalog's SHA-256 before the
// player sees them (Web Crypto; also in Node, which the tests use).

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** True when `bytes` hash to `expectedHex` (lowercase hex, as the manifest gives it). */
export async function verifySegment(bytes: Uint8Array, expectedHex: string): Promise<boolean> {
  return (await sha256Hex(bytes)) === expectedHex.toLowerCase();
}
