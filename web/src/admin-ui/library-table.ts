// The admin library as a table: one row a movie, with what an operator weighs
// it by. Column headers sort (the server sorts, so every page agrees).
import type { LibraryMovie, LibrarySort } from '../api/types';
import { formatBytes, formatDuration } from '../format';
import { h } from '../ui/dom';

export interface SortState {
  sort: LibrarySort;
  order: 'asc' | 'desc';
}

export interface RowActions {
  edit: (movie: LibraryMovie) => void;
  remove: (movie: LibraryMovie) => void;
}

const COLUMNS: { label: string; sort?: LibrarySort }[] = [
  { label: 'Poster' },
  { label: 'Title', sort: 'title' },
  { label: 'Year', sort: 'year' },
  { label: 'Length', sort: 'duration' },
  { label: 'Size', sort: 'size' },
  { label: 'Renditions' },
  { label: 'Tracks' },
  { label: 'Viewers now', sort: 'viewers' },
  { label: 'Served', sort: 'served' },
  { label: 'From peers', sort: 'offload' },
  { label: 'Added', sort: 'added' },
  { label: 'Actions' },
];

/** The order a column sorts in first: titles A to Z, numbers largest first. */
export function firstOrder(sort: LibrarySort): 'asc' | 'desc' {
  return sort === 'title' ? 'asc' : 'desc';
}

export function libraryTable(
  movies: LibraryMovie[],
  current: SortState,
  onSort: (next: SortState) => void,
  actions: RowActions,
): HTMLElement {
  const header = h(
    'tr',
    {},
    ...COLUMNS.map(({ label, sort }) => {
      if (sort === undefined) return h('th', { scope: 'col' }, label);
      const active = sort === current.sort;
      const next: SortState = {
        sort,
        order: active ? (current.order === 'asc' ? 'desc' : 'asc') : firstOrder(sort),
      };
      return h(
        'th',
        { scope: 'col', 'aria-sort': active ? (current.order === 'asc' ? 'ascending' : 'descending') : 'none' },
        h(
          'button',
          { type: 'button', class: 'sort', 'data-sort': sort, onclick: () => onSort(next) },
          label,
          active ? (current.order === 'asc' ? ' ▲' : ' ▼') : '',
        ),
      );
    }),
  );
  return h(
    'div',
    { class: 'table-scroll' },
    h('table', { class: 'library' }, h('thead', {}, header), h('tbody', {}, ...movies.map((m) => row(m, actions)))),
  );
}

function row(movie: LibraryMovie, actions: RowActions): HTMLElement {
  const served = movie.http_bytes + movie.peer_bytes;
  const tracks = [
    movie.audio_tracks.length > 0 ? `Audio: ${movie.audio_tracks.join(', ')}` : null,
    movie.subtitle_tracks.length > 0 ? `Subtitles: ${movie.subtitle_tracks.join(', ')}` : null,
  ].filter((t) => t !== null);
  return h(
    'tr',
    { 'data-movie-id': movie.id },
    h('td', { class: 'poster' }, h('img', { class: 'thumb', src: movie.poster_url, alt: '', width: 96, height: 54, loading: 'lazy' })),
    h('th', { scope: 'row', class: 'title' }, h('a', { href: `/movies/${encodeURIComponent(movie.id)}` }, movie.title)),
    h('td', { 'data-label': 'Year' }, movie.year === null || movie.year === undefined ? '—' : String(movie.year)),
    h('td', { class: 'num', 'data-label': 'Length' }, formatDuration(movie.duration_ms)),
    h('td', { class: 'num', 'data-label': 'Size' }, formatBytes(movie.size_bytes)),
    h('td', { 'data-label': 'Renditions' }, movie.renditions.join(', ')),
    h('td', { 'data-label': 'Tracks' }, tracks.length === 0 ? '—' : tracks.join('; ')),
    h('td', { class: 'num', 'data-label': 'Viewers now' }, String(movie.viewers_now)),
    h('td', { class: 'num', 'data-label': 'Served' }, formatBytes(served)),
    h('td', { class: 'num', 'data-label': 'From peers' }, served === 0 ? '—' : `${Math.round((movie.peer_bytes / served) * 100)} %`),
    h('td', { 'data-label': 'Added' }, new Date(movie.created_at_ms).toLocaleDateString()),
    h(
      'td',
      { class: 'actions' },
      h('button', { type: 'button', 'aria-label': `Edit ${movie.title}`, onclick: () => actions.edit(movie) }, 'Edit'),
      h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${movie.title}`, onclick: () => actions.remove(movie) }, 'Delete'),
    ),
  );
}
