// A movie's page: details and the player (hls.js from the segment server,
// or native HLS where the browser has it). hls.js is loaded only here, so the
// catalog stays light.
import type Hls from 'hls.js';

import type { MovieDetail } from '../api/types';
import { formatBitrate, formatDuration } from '../format';
import { h, mount } from '../ui/dom';
import { errorBox, linkHandler } from './catalog';
import type { Cleanup, PageContext } from './page';

export function renderMovie(root: HTMLElement, id: string, ctx: PageContext): Cleanup {
  const abort = new AbortController();
  let hls: Hls | undefined;
  mount(root, h('p', { class: 'muted' }, 'Loading…'));

  void (async () => {
    let movie: MovieDetail;
    try {
      movie = await ctx.api.getMovie(id, abort.signal);
    } catch (error) {
      if (abort.signal.aborted) return;
      mount(root, h('a', { href: '/', class: 'back', onclick: linkHandler(ctx) }, '← All movies'), errorBox(error));
      return;
    }
    if (abort.signal.aborted) return;
    document.title = `${movie.title} · Cinemesh`;
    const video = h('video', { controls: true, playsinline: true, poster: movie.poster_url, preload: 'metadata' });
    const quality = h('select', { 'aria-label': 'Quality' }, h('option', { value: '-1' }, 'Auto'));
    const status = h('span', { class: 'muted player-status', 'aria-live': 'polite' });
    mount(
      root,
      h('a', { href: '/', class: 'back', onclick: linkHandler(ctx) }, '← All movies'),
      h('div', { class: 'player' }, video),
      h('div', { class: 'player-bar' }, h('label', {}, 'Quality ', quality), status),
      details(movie),
    );
    const { default: HlsPlayer } = await import('hls.js');
    if (abort.signal.aborted) return;
    hls = attachPlayer(HlsPlayer, video, movie, quality, status);
  })();

  return () => {
    abort.abort();
    hls?.destroy();
  };
}

function attachPlayer(
  HlsPlayer: typeof Hls,
  video: HTMLVideoElement,
  movie: MovieDetail,
  quality: HTMLSelectElement,
  status: HTMLElement,
): Hls | undefined {
  if (!HlsPlayer.isSupported()) {
    if (video.canPlayType('application/vnd.apple.mpegurl') !== '') {
      video.src = movie.master_playlist_url;
      quality.disabled = true;
      return undefined;
    }
    status.textContent = 'This browser cannot play HLS video.';
    return undefined;
  }
  const hls = new HlsPlayer({ capLevelToPlayerSize: true });
  hls.on(HlsPlayer.Events.MANIFEST_PARSED, (_event, data) => {
    // Best first, as people expect; the value stays hls.js's level index.
    const levels = [...data.levels.entries()].sort(([, a], [, b]) => b.height - a.height);
    for (const [index, level] of levels) {
      quality.append(h('option', { value: String(index) }, `${level.height}p`));
    }
  });
  hls.on(HlsPlayer.Events.LEVEL_SWITCHED, (_event, data) => {
    const level = hls.levels[data.level];
    if (level !== undefined) status.textContent = `Playing ${level.height}p`;
  });
  hls.on(HlsPlayer.Events.ERROR, (_event, data) => {
    if (data.fatal) status.textContent = `Playback error: ${data.details}`;
  });
  quality.addEventListener('change', () => {
    hls.currentLevel = Number(quality.value);
  });
  hls.loadSource(movie.master_playlist_url);
  hls.attachMedia(video);
  return hls;
}

function details(movie: MovieDetail): HTMLElement {
  const meta = [movie.year ?? null, formatDuration(movie.duration_ms)].filter((x) => x !== null).join(' · ');
  return h(
    'section',
    { class: 'details' },
    h('h1', {}, movie.title),
    h('p', { class: 'muted' }, meta),
    movie.description === '' ? null : h('p', { class: 'description' }, movie.description),
    h(
      'p',
      { class: 'muted renditions' },
      'Renditions: ',
      movie.renditions.map((r) => `${r.name} (${r.width}×${r.height}, ${formatBitrate(r.bandwidth_bps)})`).join(', '),
    ),
  );
}
