// A movie's page: details and the player (hls.js with the P2P loader, or
// native HLS where the browser has it), the viewer's sharing choices and
// where the bytes came from. hls.js is loaded only here, so the catalog
// stays light.
import type Hls from 'hls.js';

import type { MovieDetail, SegmentManifest } from '../api/types';
import { formatBitrate, formatBytes, formatDuration } from '../format';
import type { P2PStats } from '../p2p/types';
import { fullscreenButton } from '../player/fullscreen-button';
import { createPlayer, type PlayerHandle } from '../player/hls-player';
import { QualityMenu } from '../player/quality-menu';
import { loadPreferences, savePreferences } from '../player/preferences';
import { SubtitleOverlay } from '../player/tracks/subtitle-overlay';
import { TrackMenus } from '../player/tracks/track-menus';
import { roomHref } from '../router';
import { h, mount } from '../ui/dom';
import { errorBox, linkHandler } from './catalog';
import type { Cleanup, PageContext } from './page';

declare global {
  interface Window {
    /** The page's player, for debugging from the console (and for the browser tests). */
    cinemeshPlayer?: PlayerHandle | undefined;
  }
}

export function renderMovie(root: HTMLElement, id: string, ctx: PageContext): Cleanup {
  const abort = new AbortController();
  let player: PlayerHandle | undefined;
  let closeTracks = (): void => {};
  mount(root, h('p', { class: 'muted' }, 'Loading…'));

  void (async () => {
    let movie: MovieDetail;
    let manifest: SegmentManifest;
    try {
      [movie, manifest] = await Promise.all([
        ctx.api.getMovie(id, abort.signal),
        ctx.api.getSegmentManifest(id, abort.signal),
      ]);
    } catch (error) {
      if (abort.signal.aborted) return;
      mount(root, h('a', { href: '/', class: 'back', onclick: linkHandler(ctx) }, '← All movies'), errorBox(error));
      return;
    }
    if (abort.signal.aborted) return;
    document.title = `${movie.title} · Cinemesh`;
    const video = h('video', { controls: true, controlslist: 'nofullscreen', playsinline: true, poster: movie.poster_url, preload: 'metadata', 'aria-label': movie.title });
    const subtitles = new SubtitleOverlay(video);
    const tracks = new TrackMenus(movie, subtitles);
    const playerBox = h('div', { class: 'player' }, video, subtitles.element);
    closeTracks = () => {
      tracks.destroy();
      subtitles.destroy();
    };
    const quality = new QualityMenu((level) => {
      player?.chooseLevel(level);
    });
    const status = h('span', { class: 'muted player-status', 'aria-live': 'polite' });
    const preferences = loadPreferences();
    const p2pBox = h('input', { type: 'checkbox', checked: preferences.p2p });
    const uploadBox = h('input', { type: 'checkbox', checked: preferences.upload, disabled: !p2pBox.checked });
    const sharing = h('span', { class: 'muted sharing-stats', 'data-testid': 'sharing-stats' });
    const onPreferenceChange = (): void => {
      savePreferences({ p2p: p2pBox.checked, upload: uploadBox.checked });
      // The loader is configured at start: apply the choice with a fresh player at the same position.
      const position = video.currentTime;
      player?.destroy();
      player = undefined;
      uploadBox.disabled = !p2pBox.checked;
      void start(position);
    };
    p2pBox.addEventListener('change', onPreferenceChange);
    uploadBox.addEventListener('change', onPreferenceChange);
    mount(
      root,
      h('a', { href: '/', class: 'back', onclick: linkHandler(ctx) }, '← All movies'),
      playerBox,
      h('div', { class: 'player-bar' }, quality.element, tracks.element, fullscreenButton(playerBox), status),
      h(
        'div',
        { class: 'player-bar sharing' },
        h('label', { title: 'Fetch segments from other viewers' }, p2pBox, ' Share with peers'),
        h('label', { title: 'Turn off on a metered connection' }, uploadBox, ' Upload'),
        sharing,
      ),
      details(movie),
      partyButton(movie, ctx),
    );
    const start = async (position: number): Promise<void> => {
      const { default: HlsPlayer } = await import('hls.js');
      if (abort.signal.aborted) return;
      player = attachPlayer(HlsPlayer, video, movie, manifest, { status, sharing }, position, tracks.startingAudio());
      if (player === undefined) {
        quality.select.disabled = true;
      } else {
        tracks.bind(player.hls ?? video);
        quality.bind(player.hls, HlsPlayer);
        // A new player (sharing turned on or off) keeps the quality chosen.
        player.chooseLevel(Number(quality.select.value));
        // A browser that cannot share: the choices would change nothing.
        if (player.p2pUnavailable !== undefined) {
          p2pBox.checked = uploadBox.checked = false;
          p2pBox.disabled = uploadBox.disabled = true;
        }
      }
      window.cinemeshPlayer = player;
    };
    await start(0);
  })();

  return () => {
    abort.abort();
    player?.destroy();
    closeTracks();
    window.cinemeshPlayer = undefined;
  };
}

function attachPlayer(
  HlsPlayer: typeof Hls,
  video: HTMLVideoElement,
  movie: MovieDetail,
  manifest: SegmentManifest,
  { status, sharing }: { status: HTMLElement; sharing: HTMLElement },
  startPosition: number,
  audio: { name: string; lang?: string } | undefined,
): PlayerHandle | undefined {
  let player: PlayerHandle;
  try {
    player = createPlayer(HlsPlayer, video, movie, manifest, loadPreferences(), startPosition, audio);
  } catch (error) {
    status.textContent = error instanceof Error ? error.message : String(error);
    return undefined;
  }
  const { hls } = player;
  player.engine.addEventListener('stats', (event) => {
    sharing.textContent = describeSharing((event as CustomEvent<P2PStats>).detail, player.engine.config.p2p, player.p2pUnavailable);
  });
  if (hls === undefined) {
    status.textContent = 'Played by the browser itself';
    return player;
  }
  hls.on(HlsPlayer.Events.LEVEL_SWITCHED, (_event, data) => {
    const level = hls.levels[data.level];
    if (level !== undefined) status.textContent = `Playing ${level.height}p`;
  });
  hls.on(HlsPlayer.Events.ERROR, (_event, data) => {
    if (data.fatal) status.textContent = `Playback error: ${data.details}`;
  });
  return player;
}

/** Creates a room for the movie and opens it. */
function partyButton(movie: MovieDetail, ctx: PageContext): HTMLElement {
  const status = h('span', { class: 'muted' });
  const button = h('button', { type: 'button', class: 'primary' }, 'Start watch party');
  button.addEventListener('click', () => {
    button.disabled = true;
    ctx.api.createRoom({ movie_id: movie.id }).then(
      (room) => ctx.navigate(roomHref(room.id)),
      (error: unknown) => {
        button.disabled = false;
        status.textContent = error instanceof Error ? error.message : 'The room could not be created.';
      },
    );
  });
  return h('p', { class: 'party' }, button, ' ', status);
}

function describeSharing(stats: P2PStats, p2p: boolean, unavailable: string | undefined): string {
  if (unavailable !== undefined) return `P2P unavailable: ${unavailable} · ${formatBytes(stats.httpBytes)} from the server`;
  if (!p2p) return `P2P off · ${formatBytes(stats.httpBytes)} from the server`;
  const open = stats.peers.filter((p) => p.state === 'open').length;
  const share = Math.round(stats.peerShare * 100);
  return `${share} % from peers · ${open} peer${open === 1 ? '' : 's'} · uploaded ${formatBytes(stats.uploadedBytes)}`;
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
