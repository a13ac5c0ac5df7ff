// Client-side routes. The server answers every non-API path with index.html,
// so these URLs can be shared and reloaded.

export type Route =
  | { name: 'catalog'; q: string; page: number }
  | { name: 'movie'; id: string }
  | { name: 'room'; id: string }
  | { name: 'admin' }
  | { name: 'not_found'; path: string };

const MOVIE_PATH = /^\/movies\/([a-z0-9_-]{1,64})\/?$/;
const ROOM_PATH = /^\/rooms\/([a-z0-9]{1,64})\/?$/;

export function parseRoute(pathname: string, search: string): Route {
  if (pathname === '/' || pathname === '') {
    const params = new URLSearchParams(search);
    const page = Number.parseInt(params.get('page') ?? '1', 10);
    return { name: 'catalog', q: params.get('q') ?? '', page: Number.isFinite(page) && page > 0 ? page : 1 };
  }
  if (pathname === '/admin' || pathname === '/admin/') return { name: 'admin' };
  const movie = MOVIE_PATH.exec(pathname);
  if (movie?.[1] !== undefined) return { name: 'movie', id: movie[1] };
  const room = ROOM_PATH.exec(pathname);
  if (room?.[1] !== undefined) return { name: 'room', id: room[1] };
  return { name: 'not_found', path: pathname };
}

export function catalogHref(q: string, page: number): string {
  const params = new URLSearchParams();
  if (q !== '') params.set('q', q);
  if (page > 1) params.set('page', String(page));
  const text = params.toString();
  return text === '' ? '/' : `/?${text}`;
}

export function movieHref(id: string): string {
  return `/movies/${encodeURIComponent(id)}`;
}

export function roomHref(id: string): string {
  return `/rooms/${encodeURIComponent(id)}`;
}
