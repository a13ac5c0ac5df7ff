import { describe, expect, it } from 'vitest';

import { catalogHref, movieHref, parseRoute, roomHref } from '../src/router';

describe('parseRoute', () => {
  it('reads the catalog search and page', () => {
    expect(parseRoute('/', '?q=bunny&page=3')).toEqual({ name: 'catalog', q: 'bunny', page: 3 });
  });
  it('falls back to page 1 for nonsense pages', () => {
    expect(parseRoute('/', '?page=-2')).toEqual({ name: 'catalog', q: '', page: 1 });
    expect(parseRoute('/', '?page=abc')).toEqual({ name: 'catalog', q: '', page: 1 });
  });
  it('reads movie ids', () => {
    expect(parseRoute('/movies/abc123', '')).toEqual({ name: 'movie', id: 'abc123' });
    expect(parseRoute('/movies/abc123/', '')).toEqual({ name: 'movie', id: 'abc123' });
  });
  it('knows the admin page', () => {
    expect(parseRoute('/admin', '')).toEqual({ name: 'admin' });
    expect(parseRoute('/admin/', '')).toEqual({ name: 'admin' });
    expect(parseRoute('/admin/x', '').name).toBe('not_found');
  });

  it('reads room ids, and makes room links', () => {
    expect(parseRoute('/rooms/abc123xyz', '')).toEqual({ name: 'room', id: 'abc123xyz' });
    expect(parseRoute('/rooms/ab-c', '').name).toBe('not_found');
    expect(parseRoute(roomHref('abc123xyz'), '')).toEqual({ name: 'room', id: 'abc123xyz' });
  });
  it('refuses ids the server would refuse', () => {
    expect(parseRoute('/movies/ABC', '').name).toBe('not_found');
    expect(parseRoute('/movies/a/b', '').name).toBe('not_found');
  });
});

describe('hrefs', () => {
  it('leave out defaults', () => {
    expect(catalogHref('', 1)).toBe('/');
    expect(catalogHref('big buck', 2)).toBe('/?q=big+buck&page=2');
  });
  it('round-trip through parseRoute', () => {
    const href = new URL(catalogHref('100% real', 4), 'http://x');
    expect(parseRoute(href.pathname, href.search)).toEqual({ name: 'catalog', q: '100% real', page: 4 });
    expect(parseRoute(movieHref('m1'), '')).toEqual({ name: 'movie', id: 'm1' });
  });
});
