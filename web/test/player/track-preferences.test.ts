import { describe, expect, it } from 'vitest';

import {
  clampOffset,
  DEFAULT_TRACK_PREFERENCES,
  loadSubtitleOffset,
  loadTrackPreferences,
  saveSubtitleOffset,
  saveTrackPreferences,
} from '../../src/player/tracks/track-preferences';

function memoryStorage(): Pick<Storage, 'getItem' | 'setItem'> & { items: Map<string, string> } {
  const items = new Map<string, string>();
  return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => void items.set(k, v) };
}

describe('track preferences', () => {
  it('round-trip through storage', () => {
    const storage = memoryStorage();
    const chosen = { audioLanguage: 'fr', subtitles: 'off', subtitleSize: 'large', subtitleBackground: 'box' } as const;
    saveTrackPreferences(chosen, storage);
    expect(loadTrackPreferences(storage)).toEqual(chosen);
  });

  it('fall back to the defaults on anything unreadable', () => {
    const storage = memoryStorage();
    expect(loadTrackPreferences(storage)).toEqual({ ...DEFAULT_TRACK_PREFERENCES, audioLanguage: undefined, subtitles: undefined });
    storage.setItem('cinemesh.tracks', '{not json');
    expect(loadTrackPreferences(storage).subtitleSize).toBe('medium');
    storage.setItem('cinemesh.tracks', JSON.stringify({ audioLanguage: '<script>', subtitles: 42, subtitleSize: 'huge' }));
    expect(loadTrackPreferences(storage)).toEqual({ ...DEFAULT_TRACK_PREFERENCES, audioLanguage: undefined, subtitles: undefined });
  });

  it('keep a subtitle offset per movie, within ±10 s', () => {
    const storage = memoryStorage();
    saveSubtitleOffset('m1', 2.345, storage);
    saveSubtitleOffset('m2', -60, storage);
    expect(loadSubtitleOffset('m1', storage)).toBe(2.3);
    expect(loadSubtitleOffset('m2', storage)).toBe(-10);
    expect(loadSubtitleOffset('m3', storage)).toBe(0);
    expect(clampOffset(Number.NaN)).toBe(0);
  });
});
