// The catalog: a poster grid with search and pagination. While the catalog is
// empty it shows what the server is preparing (the demo movie on first start).
import { ApiError } from '../api/client';
import type { CatalogStatus, MoviePage, MovieSummary } from '../api/types';
import { formatDuration, pageCount } from '../format';
import { catalogHref, movieHref } from '../router';
import { h, mount } from '../ui/dom';
import type { Cleanup, PageContext } from './page';

const PER_PAGE = 24;
const STATUS_POLL_MS = 2000;
const SEARCH_DEBOUNCE_MS = 250;

export function renderCatalog(root: HTMLElement, q: string, page: number, ctx: PageContext): Cleanup {
  const abort = new AbortController();
  let pollTimer: ReturnType<typeof setTimeout> | undefined;
  let searchTimer: ReturnType<typeof setTimeout> | undefined;

  const search = h('input', {
    type: 'search',
    name: 'q',
    placeholder: 'Search movies',
    'aria-label': 'Search movies',
    value: q,
    autocomplete: 'off',
  });
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => ctx.navigate(catalogHref(search.value.trim(), 1)), SEARCH_DEBOUNCE_MS);
  });
  const results = h('section', { class: 'results', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  mount(
    root,
    h('div', { class: 'toolbar' }, h('h1', {}, q === '' ? 'Movies' : `Results for “${q}”`), search),
    results,
  );

  const load = async (): Promise<void> => {
    try {
      const data = await ctx.api.listMovies({ q, page, perPage: PER_PAGE }, abort.signal);
      if (data.total === 0 && q === '') {
        await showPreparing();
        return;
      }
      mount(results, grid(data.movies, ctx), pager(data, q, ctx));
    } catch (error) {
      if (abort.signal.aborted) return;
      mount(results, errorBox(error));
    }
  };

  // An empty catalog on a fresh install: the demo movie is probably on its way.
  const showPreparing = async (): Promise<void> => {
    let status: CatalogStatus;
    try {
      status = await ctx.api.catalogStatus(abort.signal);
    } catch {
      status = { ingests: [] };
    }
    if (abort.signal.aborted) return;
    mount(results, preparingBox(status));
    if (status.ingests.length > 0) {
      pollTimer = setTimeout(() => void load(), STATUS_POLL_MS);
    }
  };

  void load();
  return () => {
    abort.abort();
    clearTimeout(pollTimer);
    clearTimeout(searchTimer);
  };
}

function grid(movies: MovieSummary[], ctx: PageContext): HTMLElement {
  if (movies.length === 0) return h('p', { class: 'muted' }, 'No movies match.');
  return h(
    'ul',
    { class: 'grid' },
    ...movies.map((movie) =>
      h(
        'li',
        {},
        h(
          'a',
          { class: 'card', href: movieHref(movie.id), 'data-movie-id': movie.id, onclick: linkHandler(ctx) },
          h('img', { src: movie.poster_url, alt: '', loading: 'lazy', width: 320, height: 180 }),
          h('span', { class: 'card-title' }, movie.title),
          h(
            'span',
            { class: 'card-meta' },
            [movie.year ?? null, formatDuration(movie.duration_ms)].filter((x) => x !== null).join(' · '),
          ),
        ),
      ),
    ),
  );
}

function pager(data: MoviePage, q: string, ctx: PageContext): HTMLElement | null {
  const pages = pageCount(data.total, data.per_page);
  if (pages <= 1) return null;
  const link = (label: string, page: number, disabled: boolean): HTMLElement =>
    disabled
      ? h('span', { class: 'button disabled', 'aria-disabled': 'true' }, label)
      : h('a', { class: 'button', href: catalogHref(q, page), onclick: linkHandler(ctx) }, label);
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Pages' },
    link('← Previous', data.page - 1, data.page <= 1),
    h('span', {}, `Page ${data.page} of ${pages}`),
    link('Next →', data.page + 1, data.page >= pages),
  );
}

function preparingBox(status: CatalogStatus): HTMLElement {
  const ingest = status.ingests[0];
  if (ingest !== undefined) {
    const eta = ingest.eta_secs === null || ingest.eta_secs === undefined ? '' : `, about ${formatDuration(ingest.eta_secs * 1000)} left`;
    return h(
      'div',
      { class: 'notice', role: 'status' },
      h('p', {}, `Preparing “${ingest.title}”: ${ingest.percent}%${eta}.`),
      h('progress', { max: 100, value: ingest.percent }),
    );
  }
  return h(
    'div',
    { class: 'notice' },
    h('p', {}, status.notice ?? 'The catalog is empty. Add a movie with `cinemesh ingest FILE --title TITLE`.'),
  );
}

export function errorBox(error: unknown): HTMLElement {
  const message = error instanceof ApiError ? `${error.message} (${error.code})` : 'Something went wrong.';
  return h('div', { class: 'notice error', role: 'alert' }, h('p', {}, message));
}

/** Turns a plain link click into client-side navigation. */
export function linkHandler(ctx: PageContext): EventListener {
  return (event: Event) => {
    const mouse = event as MouseEvent;
    if (mouse.button !== 0 || mouse.metaKey || mouse.ctrlKey || mouse.shiftKey || mouse.altKey) return;
    const anchor = event.currentTarget as HTMLAnchorElement;
    event.preventDefault();
    ctx.navigate(anchor.getAttribute('href') ?? '/');
  };
}
