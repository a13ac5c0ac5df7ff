import { describe, expect, it } from 'vitest';

import { ORIGIN_SHARE, roomLevel } from '../../src/player/room-rendition';

// The lab movie's ladder: 240p, 360p, 480p peaks in bits/s.
const LADDER = [580_000, 1_020_000, 1_680_000];

describe('the room rendition', () => {
  it('is the best rung whose peak fits the room share of the origin', () => {
    // A 5 Mbit/s origin: 2 Mbit/s for the room carries 480p.
    expect(roomLevel(LADDER, 625_000)).toBe(2);
    // 3 Mbit/s: 1.2 Mbit/s carries 360p, not 480p.
    expect(roomLevel(LADDER, 375_000)).toBe(1);
    expect(roomLevel(LADDER, (1_680_000 / 8 / ORIGIN_SHARE) * 0.99)).toBe(1);
  });

  it('is the lowest rung when even that does not fit', () => {
    expect(roomLevel(LADDER, 10_000)).toBe(0);
    expect(roomLevel(LADDER, 0)).toBe(0);
  });

  it('does not depend on the order the playlist lists its rungs in', () => {
    expect(roomLevel([1_680_000, 580_000, 1_020_000], 375_000)).toBe(2);
  });
});
