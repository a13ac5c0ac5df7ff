// Which audio track and which subtitles a viewer starts with: their own last
// choice where the movie has it, else the languages their browser asks for,
// else the movie's default. Pure, so every rule is tested without a player.

/** An audio or subtitle track as the choice sees it. */
export interface TrackOption {
  /** BCP 47 tag; undefined when the source did not say. */
  language?: string | null | undefined;
  isDefault?: boolean;
  forced?: boolean;
}

/** What the viewer chose before, remembered across movies. */
export interface TrackWishes {
  /** The audio language picked last. */
  audioLanguage?: string | undefined;
  /** The subtitle language picked last, or 'off'; undefined: never picked. */
  subtitles?: string | undefined;
}

/**
 * How well a track's tag serves a wanted one: 2 exactly (`pt-BR` for
 * `pt-BR`), 1 by language alone (`pt` for `pt-BR`, or `pt-PT`), 0 not at all.
 */
export function languageMatch(track: string | null | undefined, wanted: string): 0 | 1 | 2 {
  if (track === undefined || track === null || track === '') return 0;
  const [a, b] = [track.toLowerCase(), wanted.toLowerCase()];
  if (a === b) return 2;
  return a.split('-')[0] === b.split('-')[0] ? 1 : 0;
}

/** The track serving the earliest of `wanted` best (the first of equals), of those `accept` lets through; -1: none. */
export function bestFor(tracks: readonly TrackOption[], wanted: readonly string[], accept: (t: TrackOption) => boolean = () => true): number {
  for (const language of wanted) {
    let best = -1;
    let bestScore = 0;
    tracks.forEach((track, i) => {
      const score = accept(track) ? languageMatch(track.language, language) : 0;
      if (score > bestScore) [best, bestScore] = [i, score];
    });
    if (best !== -1) return best;
  }
  return -1;
}

/** The audio track to start with: the last choice, the browser's languages, the default, the first. */
export function chooseAudio(tracks: readonly TrackOption[], wishes: TrackWishes, browserLanguages: readonly string[]): number {
  if (tracks.length === 0) return -1;
  const wanted = [...(wishes.audioLanguage === undefined ? [] : [wishes.audioLanguage]), ...browserLanguages];
  const found = bestFor(tracks, wanted);
  if (found !== -1) return found;
  const byDefault = tracks.findIndex((t) => t.isDefault === true);
  return byDefault === -1 ? 0 : byDefault;
}

/**
 * The subtitles to start with, or -1 for none.
 * - A language picked before, where the movie has it (not forced ones: they
 *   carry only signs and foreign lines).
 * - Picked 'off': off, except forced subtitles in the language heard.
 * - Never picked: subtitles in the browser's first language when the audio
 *   is in another one; else as 'off'.
 */
export function chooseSubtitles(
  tracks: readonly TrackOption[],
  wishes: TrackWishes,
  browserLanguages: readonly string[],
  audioLanguage: string | null | undefined,
): number {
  const full = (t: TrackOption): boolean => t.forced !== true;
  if (wishes.subtitles !== undefined && wishes.subtitles !== 'off') {
    const found = bestFor(tracks, [wishes.subtitles], full);
    if (found !== -1) return found;
  }
  const first = browserLanguages[0];
  if (wishes.subtitles === undefined && first !== undefined && audioLanguage !== undefined && audioLanguage !== null) {
    if (languageMatch(audioLanguage, first) === 0) {
      const found = bestFor(tracks, [first], full);
      if (found !== -1) return found;
    }
  }
  if (audioLanguage === undefined || audioLanguage === null) return -1;
  return tracks.findIndex((t) => t.forced === true && languageMatch(t.language, audioLanguage) > 0);
}
