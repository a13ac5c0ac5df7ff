import { describe, expect, it } from 'vitest';

import { splitOwner } from '../../src/p2p/swarm-split';

const segments = Array.from({ length: 600 }, (_, n) => n);

describe('splitOwner', () => {
  it('gives every viewer in step a fair share of the segments', () => {
    const members = ['peer-a', 'peer-b', 'peer-c', 'peer-d'];
    const shares = new Map<string, number>();
    for (const n of segments) {
      const owner = splitOwner(n, members) ?? '';
      shares.set(owner, (shares.get(owner) ?? 0) + 1);
    }
    expect([...shares.keys()].sort()).toEqual(members);
    for (const share of shares.values()) expect(share).toBeGreaterThan(600 / 4 - 45);
  });

  it('names the same owner whatever order a viewer sees the others in', () => {
    for (const n of segments) expect(splitOwner(n, ['x', 'y', 'z'])).toBe(splitOwner(n, ['z', 'x', 'y']));
  });

  it("moves only a departed viewer's segments, and a viewer seeing fewer agrees wherever it sees the winner", () => {
    for (const n of segments) {
      const all = splitOwner(n, ['a', 'b', 'c']);
      const withoutC = splitOwner(n, ['a', 'b']);
      if (all !== 'c') expect(withoutC).toBe(all);
    }
  });

  it('has no owner without members', () => {
    expect(splitOwner(3, [])).toBeUndefined();
  });
});
