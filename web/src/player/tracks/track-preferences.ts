// Each viewer's own track choices and subtitle look, kept in localStorage so
// they hold across movies and visits. Anything unreadable there (an older
// version, a hand edit) falls back to the defaults, never to an error.

export type SubtitleSize = 'small' | 'medium' | 'large';
export type SubtitleBackground = 'none' | 'shadow' | 'box';

export interface TrackPreferences {
  /** The audio language picked last. */
  audioLanguage?: string | undefined;
  /** The subtitle language picked last, or 'off'; undefined: never picked. */
  subtitles?: string | undefined;
  subtitleSize: SubtitleSize;
  subtitleBackground: SubtitleBackground;
}

/** The personal subtitle timing offset goes at most this far either way, s. */
export const MAX_SUBTITLE_OFFSET_SECS = 10;

const KEY = 'cinemesh.tracks';
const offsetKey = (movie: string): string => `cinemesh.subtitleOffset.${movie}`;
const SIZES: readonly SubtitleSize[] = ['small', 'medium', 'large'];
const BACKGROUNDS: readonly SubtitleBackground[] = ['none', 'shadow', 'box'];
/** A language tag as BCP 47 writes one (and 'off'). */
const TAG = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/;

export const DEFAULT_TRACK_PREFERENCES: TrackPreferences = { subtitleSize: 'medium', subtitleBackground: 'shadow' };

export function loadTrackPreferences(storage: Pick<Storage, 'getItem'> = localStorage): TrackPreferences {
  let saved: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(storage.getItem(KEY) ?? '{}');
    if (typeof parsed === 'object' && parsed !== null) saved = parsed as Record<string, unknown>;
  } catch {
    // Unreadable: the defaults.
  }
  const tag = (value: unknown): string | undefined => (typeof value === 'string' && TAG.test(value) ? value : undefined);
  const oneOf = <T extends string>(value: unknown, options: readonly T[], fallback: T): T =>
    options.includes(value as T) ? (value as T) : fallback;
  return {
    audioLanguage: tag(saved.audioLanguage),
    subtitles: tag(saved.subtitles),
    subtitleSize: oneOf(saved.subtitleSize, SIZES, DEFAULT_TRACK_PREFERENCES.subtitleSize),
    subtitleBackground: oneOf(saved.subtitleBackground, BACKGROUNDS, DEFAULT_TRACK_PREFERENCES.subtitleBackground),
  };
}

export function saveTrackPreferences(preferences: TrackPreferences, storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(KEY, JSON.stringify(preferences));
}

/** The viewer's subtitle offset for one movie (a file slightly off is off for that movie only), s. */
export function loadSubtitleOffset(movie: string, storage: Pick<Storage, 'getItem'> = localStorage): number {
  return clampOffset(Number(storage.getItem(offsetKey(movie)) ?? '0'));
}

export function saveSubtitleOffset(movie: string, secs: number, storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(offsetKey(movie), String(clampOffset(secs)));
}

export function clampOffset(secs: number): number {
  if (!Number.isFinite(secs)) return 0;
  return Math.round(Math.min(MAX_SUBTITLE_OFFSET_SECS, Math.max(-MAX_SUBTITLE_OFFSET_SECS, secs)) * 10) / 10;
}
