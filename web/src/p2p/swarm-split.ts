// Viewers of a movie page who play the same seconds all lack the segment they
// are about to load, so each fetched every segment over HTTP itself (three of
// four viewers starting together took nothing from peers). Without a room
// there is nobody to hand out a plan, so each viewer works one out from what
// it sees: the viewers in step with it (linked, and holding the segment it
// plays now) split the segments among themselves by rendezvous hashing. Each
// segment goes to the member whose hash of (member, segment) is highest, so
// two viewers who see different sets agree wherever their sets overlap in the
// winner, and a viewer who leaves only moves its own segments.

/** Who fetches `sequence` for the viewers in step: one of `members` (ids on the tracker). */
export function splitOwner(sequence: number, members: readonly string[]): string | undefined {
  let owner: string | undefined;
  let best = -1;
  for (const member of members) {
    const score = fnv1a(`${member}/${sequence}`);
    if (score > best || (score === best && owner !== undefined && member > owner)) {
      best = score;
      owner = member;
    }
  }
  return owner;
}

/** 32-bit FNV-1a, mixed once more so that neighbouring segments spread evenly. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}
