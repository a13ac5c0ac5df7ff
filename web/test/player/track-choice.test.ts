import { describe, expect, it } from 'vitest';

import { chooseAudio, chooseSubtitles, languageMatch } from '../../src/player/tracks/track-choice';

const audio = [{ language: 'en' }, { language: 'fr', isDefault: true }, { language: 'pt-BR' }];
const subtitles = [{ language: 'en', forced: true }, { language: 'en' }, { language: 'fr' }, { language: null }];

describe('track choice', () => {
  it('matches tags exactly first, then by language alone', () => {
    expect(languageMatch('pt-BR', 'pt-br')).toBe(2);
    expect(languageMatch('pt', 'pt-BR')).toBe(1);
    expect(languageMatch('pt-PT', 'pt-BR')).toBe(1);
    expect(languageMatch('en', 'fr')).toBe(0);
    expect(languageMatch(null, 'fr')).toBe(0);
  });

  it('starts audio in the language chosen last, then the browser’s, then the default', () => {
    expect(chooseAudio(audio, { audioLanguage: 'pt-BR' }, ['en-US'])).toBe(2);
    expect(chooseAudio(audio, { audioLanguage: 'de' }, ['de-AT', 'en-GB'])).toBe(0);
    expect(chooseAudio(audio, {}, ['ja'])).toBe(1);
    expect(chooseAudio([{ language: 'en' }, { language: 'fr' }], {}, [])).toBe(0);
    expect(chooseAudio([], {}, ['en'])).toBe(-1);
    // pt-PT asked: pt-BR serves it by language, better than nothing.
    expect(chooseAudio(audio, {}, ['pt-PT'])).toBe(2);
  });

  it('shows the subtitles chosen last, and never a forced track for them', () => {
    expect(chooseSubtitles(subtitles, { subtitles: 'en' }, [], 'fr')).toBe(1);
    expect(chooseSubtitles(subtitles, { subtitles: 'fr' }, [], 'fr')).toBe(2);
  });

  it('turned off, shows only forced subtitles in the language heard', () => {
    expect(chooseSubtitles(subtitles, { subtitles: 'off' }, ['fr'], 'en')).toBe(0);
    expect(chooseSubtitles(subtitles, { subtitles: 'off' }, ['en'], 'fr')).toBe(-1);
  });

  it('never chosen, shows the browser’s language when the audio is in another', () => {
    expect(chooseSubtitles(subtitles, {}, ['fr-CA', 'en'], 'en')).toBe(2);
    expect(chooseSubtitles(subtitles, {}, ['fr-FR'], 'fr')).toBe(-1);
    expect(chooseSubtitles(subtitles, {}, ['de'], 'en')).toBe(0);
  });
});
