import { describe, expect, it } from 'vitest';

import type { MemberView } from '../../src/protocol/MemberView';
import { applyChanges } from '../../src/rooms/roster';

const member = (id: string, extra: Partial<MemberView> = {}): MemberView => ({
  id,
  name: id.toUpperCase(),
  role: 'member',
  online: true,
  streaming: [],
  in_call: false,
  tracks: {},
  ...extra,
});

describe('member changes', () => {
  it('adds newcomers at the end and updates members in place', () => {
    const before = [member('a', { role: 'host' }), member('b')];
    const after = applyChanges(before, [member('c'), member('b', { online: false, streaming: ['camera'] })], []);
    expect(after.map((m) => m.id)).toEqual(['a', 'b', 'c']);
    expect(after[1]).toEqual(member('b', { online: false, streaming: ['camera'] }));
    expect(before[1]?.online).toBe(true);
  });

  it('removes members who left, including one changed in the same message', () => {
    const after = applyChanges([member('a'), member('b')], [member('a', { role: 'host' }), member('x')], ['b', 'x']);
    expect(after).toEqual([member('a', { role: 'host' })]);
  });
});
