// The audio and subtitle menus of a player, with the subtitle settings (size,
// background, timing offset). Each viewer's choice is their own: it is
// remembered in the browser for the next movie, and a room only hears about
// it (for the People panel); the movie's clock stays the room's.
import type Hls from 'hls.js';

import type { MovieDetail } from '../../api/types';
import { h } from '../../ui/dom';
import type { SubtitleOverlay } from './subtitle-overlay';
import { describeTracks } from './describe-tracks';
import { bestFor, chooseAudio, chooseSubtitles, type TrackOption } from './track-choice';
import {
  loadSubtitleOffset,
  loadTrackPreferences,
  MAX_SUBTITLE_OFFSET_SECS,
  saveSubtitleOffset,
  saveTrackPreferences,
  type SubtitleBackground,
  type SubtitleSize,
  type TrackPreferences,
} from './track-preferences';
import { type Cue, parseWebVtt } from './webvtt';

/**
 * A subtitle file larger than this is refused (a film's is 50-150 kB), bytes:
 * well above what the server takes in (5 MiB), as its WebVTT may come out larger.
 */
export const MAX_SUBTITLE_BYTES = 16 * 1024 * 1024;

/** What a viewer hears and reads, as the People panel shows it. */
export interface TrackSummary {
  /** BCP 47 tag of the audio heard; undefined when the movie has one track. */
  audio?: string | undefined;
  /** BCP 47 tag of the subtitles shown; undefined when off. */
  subtitles?: string | undefined;
}

export class TrackMenus {
  readonly element: HTMLElement;
  readonly #movie: MovieDetail;
  readonly #overlay: SubtitleOverlay;
  readonly #preferences: TrackPreferences;
  readonly #audio = h('select', { 'aria-label': 'Audio', 'data-testid': 'audio-menu' });
  readonly #subtitles = h('select', { 'aria-label': 'Subtitles', 'data-testid': 'subtitle-menu' });
  readonly #size = h('select', { 'aria-label': 'Subtitle size' });
  readonly #background = h('select', { 'aria-label': 'Subtitle background' });
  readonly #offset = h('input', {
    type: 'number',
    step: 0.1,
    min: -MAX_SUBTITLE_OFFSET_SECS,
    max: MAX_SUBTITLE_OFFSET_SECS,
    'aria-label': 'Subtitle delay in seconds',
    'data-testid': 'subtitle-offset',
  });
  readonly #status = h('span', { class: 'muted', role: 'status' });
  readonly #suggestion = h('span', { class: 'muted', 'data-testid': 'suggested-tracks' });
  readonly #cues = new Map<string, Promise<Cue[]>>();
  readonly #onChange: (summary: TrackSummary) => void;
  #hls: Hls | undefined;
  /** The video element, where the browser plays HLS itself. */
  #native: HTMLVideoElement | undefined;
  #audioIndex: number;
  #subtitleIndex: number;
  #abort = new AbortController();
  /** What the viewer picked on this page: a host's suggestion no longer changes it. */
  #picked = { audio: false, subtitles: false };
  #ready = false;

  /** `onChange` hears of each change after the start (the start's choice: `summary`). */
  constructor(movie: MovieDetail, overlay: SubtitleOverlay, onChange: (summary: TrackSummary) => void = () => {}) {
    this.#movie = movie;
    this.#overlay = overlay;
    this.#onChange = onChange;
    this.#preferences = loadTrackPreferences();
    const browser = typeof navigator === 'undefined' ? [] : [...navigator.languages];
    const audioTracks = movie.audio_tracks.map((t) => ({ language: t.language, isDefault: t.is_default }));
    this.#audioIndex = chooseAudio(audioTracks, this.#preferences, browser);
    const heard = movie.audio_tracks[this.#audioIndex]?.language ?? movie.audio_language;
    this.#subtitleIndex = chooseSubtitles(movie.subtitles, this.#preferences, browser, heard);

    movie.audio_tracks.forEach((t, i) => this.#audio.append(h('option', { value: String(i) }, t.label)));
    this.#subtitles.append(h('option', { value: '-1' }, 'Off'));
    movie.subtitles.forEach((t, i) => this.#subtitles.append(h('option', { value: String(i) }, t.forced ? `${t.label} (forced)` : t.label)));
    for (const size of ['small', 'medium', 'large']) this.#size.append(h('option', { value: size }, size[0]?.toUpperCase() + size.slice(1)));
    for (const [value, label] of [['none', 'None'], ['shadow', 'Shadow'], ['box', 'Box']]) this.#background.append(h('option', { value }, label));
    this.#audio.value = String(this.#audioIndex);
    this.#size.value = this.#preferences.subtitleSize;
    this.#background.value = this.#preferences.subtitleBackground;
    this.#offset.value = String(loadSubtitleOffset(movie.id));
    overlay.setStyle(this.#preferences.subtitleSize, this.#preferences.subtitleBackground);
    overlay.setOffset(loadSubtitleOffset(movie.id));

    this.#audio.addEventListener('change', () => {
      this.#picked.audio = true;
      this.chooseAudio(Number(this.#audio.value));
    });
    this.#subtitles.addEventListener('change', () => {
      this.#picked.subtitles = true;
      void this.chooseSubtitles(Number(this.#subtitles.value));
    });
    const restyle = (): void => {
      this.#preferences.subtitleSize = this.#size.value as SubtitleSize;
      this.#preferences.subtitleBackground = this.#background.value as SubtitleBackground;
      saveTrackPreferences(this.#preferences);
      overlay.setStyle(this.#preferences.subtitleSize, this.#preferences.subtitleBackground);
    };
    this.#size.addEventListener('change', restyle);
    this.#background.addEventListener('change', restyle);
    this.#offset.addEventListener('change', () => {
      saveSubtitleOffset(movie.id, Number(this.#offset.value));
      const offset = loadSubtitleOffset(movie.id);
      this.#offset.value = String(offset);
      overlay.setOffset(offset);
    });

    const hasAudio = movie.audio_tracks.length > 1;
    const hasSubtitles = movie.subtitles.length > 0;
    this.element = h(
      'span',
      { class: 'track-menus' },
      hasAudio ? h('label', {}, 'Audio ', this.#audio) : null,
      hasSubtitles ? h('label', {}, 'Subtitles ', this.#subtitles) : null,
      hasSubtitles
        ? h(
            'details',
            { class: 'subtitle-settings' },
            h('summary', {}, 'Subtitle settings'),
            h('label', {}, 'Size ', this.#size),
            h('label', {}, 'Background ', this.#background),
            h('label', { title: 'Positive: later; negative: earlier' }, 'Delay (s) ', this.#offset),
          )
        : null,
      this.#suggestion,
      this.#status,
    );
    void this.chooseSubtitles(this.#subtitleIndex, false);
    this.#ready = true;
  }

  /** The audio track the player should start with (hls.js's `audioPreference`). */
  startingAudio(): { name: string; lang?: string } | undefined {
    const track = this.#movie.audio_tracks[this.#audioIndex];
    if (track === undefined) return undefined;
    return track.language === null || track.language === undefined ? { name: track.label } : { name: track.label, lang: track.language };
  }

  /**
   * Follows a (new) player, made with `startingAudio()`: later choices
   * switch its track. A video element alone: the browser plays HLS itself,
   * and the audio menu switches its `audioTracks` where it has them (Safari).
   */
  bind(player: Hls | HTMLVideoElement): void {
    if (player instanceof HTMLVideoElement) {
      this.#native = player;
      const tracks = nativeAudioTracks(player);
      this.#audio.disabled = tracks === undefined;
      this.#audio.title = tracks === undefined ? 'This browser plays HLS itself and does not let the page pick the audio' : '';
      tracks?.addEventListener('addtrack', () => this.#applyAudio(), { signal: this.#abort.signal });
      this.#applyAudio();
      return;
    }
    this.#hls = player;
    this.#native = undefined;
    this.#audio.disabled = false;
    this.#audio.title = '';
  }

  summary(): TrackSummary {
    return {
      audio: this.#movie.audio_tracks[this.#audioIndex]?.language ?? undefined,
      subtitles: this.#movie.subtitles[this.#subtitleIndex]?.language ?? undefined,
    };
  }

  /** Plays audio track `index`; `remember` it as the viewer's choice for the next movies. */
  chooseAudio(index: number, remember = true): void {
    const track = this.#movie.audio_tracks[index];
    if (track === undefined) return;
    this.#audioIndex = index;
    this.#audio.value = String(index);
    if (remember && track.language !== null && track.language !== undefined) {
      this.#preferences.audioLanguage = track.language;
      saveTrackPreferences(this.#preferences);
    }
    this.#applyAudio();
    this.#onChange(this.summary());
  }

  /**
   * A room's host suggests languages (undefined: no suggestion for that
   * one): taken where the movie has them, unless the viewer picked their
   * own on this page. Not remembered as the viewer's own choice.
   */
  suggest(tracks: TrackSummary): void {
    const said = describeTracks(tracks);
    this.#suggestion.textContent = said === '' ? '' : `The host suggests ${said}`;
    const audio = tracks.audio === undefined ? -1 : bestFor(this.#movie.audio_tracks, [tracks.audio]);
    if (!this.#picked.audio && audio !== -1 && audio !== this.#audioIndex) this.chooseAudio(audio, false);
    const full = (t: TrackOption): boolean => t.forced !== true;
    const subtitles = tracks.subtitles === undefined ? -1 : bestFor(this.#movie.subtitles, [tracks.subtitles], full);
    if (!this.#picked.subtitles && subtitles !== -1 && subtitles !== this.#subtitleIndex) void this.chooseSubtitles(subtitles, false);
  }

  /** Shows subtitle track `index` (-1: off); `remember` it as the viewer's choice. */
  async chooseSubtitles(index: number, remember = true): Promise<void> {
    const track = this.#movie.subtitles[index];
    this.#subtitleIndex = track === undefined ? -1 : index;
    this.#subtitles.value = String(this.#subtitleIndex);
    if (remember) {
      this.#preferences.subtitles = track === undefined ? 'off' : (track.language ?? undefined);
      saveTrackPreferences(this.#preferences);
    }
    if (this.#ready) this.#onChange(this.summary());
    if (track === undefined) {
      this.#overlay.show([]);
      return;
    }
    this.#status.textContent = '';
    try {
      const cues = await this.#load(track.url);
      // Another choice may have come while this one loaded.
      if (this.#subtitleIndex === index) this.#overlay.show(cues);
    } catch (error) {
      if (this.#subtitleIndex !== index) return;
      this.#overlay.show([]);
      this.#status.textContent = `Subtitles unavailable: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  destroy(): void {
    this.#abort.abort();
    this.#abort = new AbortController();
  }

  /**
   * Switches the player's audio without flushing what is buffered: the new
   * track's segments load from the playhead and replace the old audio a
   * quarter second ahead, so the picture never waits for the switch and
   * the room's clock does not either.
   */
  #applyAudio(): void {
    const hls = this.#hls;
    const chosen = this.startingAudio();
    if (chosen === undefined) return;
    const native = this.#native === undefined ? undefined : nativeAudioTracks(this.#native);
    if (native !== undefined) {
      // The playlist's NAME is the track's label; its language only where no label matches.
      const all = Array.from({ length: native.length }, (_, i) => native[i]).filter((t) => t !== undefined);
      const wanted = all.find((t) => t.label === chosen.name) ?? all.find((t) => chosen.lang !== undefined && t.language === chosen.lang);
      if (wanted === undefined) return;
      for (const track of all) track.enabled = track === wanted;
      return;
    }
    if (hls === undefined) return;
    if (hls.audioTracks[hls.audioTrack]?.name === chosen.name) return;
    hls.setAudioOption({ ...chosen, flushImmediate: false });
  }

  #load(url: string): Promise<Cue[]> {
    let cues = this.#cues.get(url);
    if (cues === undefined) {
      cues = fetchCues(url, this.#abort.signal);
      cues.catch(() => this.#cues.delete(url));
      this.#cues.set(url, cues);
    }
    return cues;
  }
}

/** The audio tracks of a video element, where the browser lists them (Safari; Chromium only behind a flag). */
interface NativeAudioTrack {
  label: string;
  language: string;
  enabled: boolean;
}
interface NativeAudioTrackList extends EventTarget {
  readonly length: number;
  [index: number]: NativeAudioTrack | undefined;
}
function nativeAudioTracks(video: HTMLVideoElement): NativeAudioTrackList | undefined {
  return (video as HTMLVideoElement & { audioTracks?: NativeAudioTrackList }).audioTracks;
}

/** A subtitle file's cues, refused past `MAX_SUBTITLE_BYTES`. */
export async function fetchCues(url: string, signal: AbortSignal): Promise<Cue[]> {
  const response = await fetch(url, { signal });
  if (!response.ok) throw new Error(`the server answered ${response.status}`);
  if (Number(response.headers.get('content-length') ?? '0') > MAX_SUBTITLE_BYTES) throw new Error('the subtitle file is too large');
  const text = await response.text();
  if (text.length > MAX_SUBTITLE_BYTES) throw new Error('the subtitle file is too large');
  return parseWebVtt(text);
}
