// The room's member list on the client: the welcome's full list, then the
// changes the room sends (new or updated members, and who left), so a join
// in a big room costs one member on the wire, not the whole list.
import type { MemberView } from '../protocol/MemberView';

/** `members` with `changed` replaced or added (in arrival order) and `left` removed. */
export function applyMemberChanges(members: MemberView[], changed: MemberView[], left: string[]): MemberView[] {
  const gone = new Set(left);
  const updates = new Map(changed.map((m) => [m.id, m]));
  const kept = members.filter((m) => !gone.has(m.id)).map((m) => updates.get(m.id) ?? m);
  const known = new Set(kept.map((m) => m.id));
  return [...kept, ...changed.filter((m) => !known.has(m.id) && !gone.has(m.id))];
}
