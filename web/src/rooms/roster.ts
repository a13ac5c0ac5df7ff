// Lists the server keeps current by sending changes: the welcome's full
// list, then what is new or updated and who left, so a join in a big room
// (or lobby) costs one entry on the wire, not the whole list.

/** `list` with `changed` replaced or added (in arrival order) and `left` removed. */
export function applyChanges<T extends { id: string }>(list: T[], changed: T[], left: string[]): T[] {
  const gone = new Set(left);
  const updates = new Map(changed.map((entry) => [entry.id, entry]));
  const kept = list.filter((entry) => !gone.has(entry.id)).map((entry) => updates.get(entry.id) ?? entry);
  const known = new Set(kept.map((entry) => entry.id));
  return [...kept, ...changed.filter((entry) => !known.has(entry.id) && !gone.has(entry.id))];
}
