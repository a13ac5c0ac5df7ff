import { describe, expect, it } from 'vitest';

import { splitOwner, StepSplit } from '../../src/p2p/swarm-split';
import { index } from './ten-segments';

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

describe('StepSplit', () => {
  function split(near: string[], open: string[]) {
    const changes: boolean[] = [];
    const warmed: string[][] = [];
    const asked: number[][] = [];
    const steps = new StepSplit({
      index,
      rendition: () => '240p',
      playhead: () => 4,
      bufferedTo: () => 10,
      aheadSecs: () => 16,
      me: () => 'me',
      active: () => true,
      inStep: async (_rendition, playing, heldTo, lastWanted) => {
        asked.push([playing, heldTo, lastWanted]);
        return near;
      },
      linked: (peer) => open.includes(peer),
      warmUp: (peers) => warmed.push(peers),
      onSplitting: (splitting) => changes.push(splitting),
    });
    return { steps, changes, warmed, asked };
  }

  it('splits with the linked viewers in step, links to the others, and starts over after a jump', async () => {
    const s = split(['b', 'a', 'c'], ['a', 'b']);
    expect(s.steps.owner(3)).toBeUndefined();
    await s.steps.refresh();
    // At 4 s, 10 s buffered (segments 2-4 held), 16 s ahead: plays 2, holds to 4, wants to 9.
    expect(s.asked).toEqual([[2, 4, 9]]);
    expect(s.warmed).toEqual([['b', 'a', 'c']]);
    expect(s.changes).toEqual([true]);
    const owners = new Set(Array.from({ length: 60 }, (_, n) => s.steps.owner(n)));
    expect(owners).toEqual(new Set(['me', 'other']));
    for (let n = 0; n < 60; n++) expect(s.steps.owner(n)).toBe(splitOwner(n, ['me', 'a', 'b']) === 'me' ? 'me' : 'other');
    s.steps.reset();
    expect(s.changes).toEqual([true, false]);
    expect(s.steps.owner(3)).toBeUndefined();
  });

  it('does not split with nobody linked', async () => {
    const s = split(['a'], []);
    await s.steps.refresh();
    expect(s.steps.splitting).toBe(false);
    expect(s.changes).toEqual([]);
  });
});
