import { describe, expect, it } from 'vitest';

import { formatBytes } from '../src/format';
import { loadPreferences, savePreferences } from '../src/player/preferences';

function memoryStorage(): Pick<Storage, 'getItem' | 'setItem'> {
  const items = new Map<string, string>();
  return { getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) };
}

describe('sharing preferences', () => {
  it('default to sharing, and keep what the viewer chose', () => {
    const storage = memoryStorage();
    expect(loadPreferences(storage)).toEqual({ p2p: true, upload: true });
    savePreferences({ p2p: true, upload: false, uploadBytesPerSec: 250_000 }, storage);
    expect(loadPreferences(storage)).toEqual({ p2p: true, upload: false, uploadBytesPerSec: 250_000 });
    savePreferences({ p2p: false, upload: false }, storage);
    expect(loadPreferences(storage).p2p).toBe(false);
  });

  it('ignore an upload limit that is not a positive number', () => {
    const storage = memoryStorage();
    storage.setItem('cinemesh.uploadLimit', 'lots');
    expect(loadPreferences(storage).uploadBytesPerSec).toBeUndefined();
  });

  it('take a number of lanes per peer only within the protocol limit', () => {
    const storage = memoryStorage();
    for (const [stored, lanes] of [['1', 1], ['3', 3], ['0', undefined], ['4', undefined], ['2.5', undefined], ['x', undefined]] as const) {
      storage.setItem('cinemesh.peerLanes', stored);
      expect(loadPreferences(storage).peerLanes, stored).toBe(lanes);
    }
  });
});

describe('formatBytes', () => {
  it('uses decimal units', () => {
    expect([0, 999, 1_536, 12_600_000, 3e12].map(formatBytes)).toEqual(['0 B', '999 B', '1.5 KB', '12.6 MB', '3.0 TB']);
  });
});
