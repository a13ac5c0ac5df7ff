import { describe, expect, it } from 'vitest';

import { ApiClient, ApiError, listQuery } from '../../src/api/client';

/** A fetch that answers every request with `status` and `body`, and records URLs. */
function answering(status: number, body: string, seen: string[] = []) {
  return async (input: string): Promise<Response> => {
    seen.push(input);
    return new Response(body, { status, headers: { 'content-type': 'application/json' } });
  };
}

describe('listQuery', () => {
  it('includes only what is set', () => {
    expect(listQuery({})).toBe('');
    expect(listQuery({ q: '  bunny ', page: 2, perPage: 10 })).toBe('?q=bunny&page=2&per_page=10');
    expect(listQuery({ q: '   ', page: 1 })).toBe('');
  });
});

describe('ApiClient', () => {
  it('builds URLs from the base and encodes ids', async () => {
    const seen: string[] = [];
    const api = new ApiClient('http://server/', answering(200, '{}', seen));
    await api.getMovie('a b');
    await api.listMovies({ q: 'x' });
    expect(seen).toEqual(['http://server/api/movies/a%20b', 'http://server/api/movies?q=x']);
  });

  it('turns error envelopes into ApiError with the code', async () => {
    const api = new ApiClient('', answering(404, '{"error":"movie_not_found","message":"no movie"}'));
    const error = await api.getMovie('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ code: 'movie_not_found', status: 404, message: 'no movie' });
  });

  it('reports non-JSON answers as invalid_response', async () => {
    const api = new ApiClient('', answering(502, '<html>bad gateway</html>'));
    await expect(api.listMovies()).rejects.toMatchObject({ code: 'invalid_response', status: 502 });
  });

  it('reports unreachable servers as network_error', async () => {
    const api = new ApiClient('', async () => {
      throw new TypeError('fetch failed');
    });
    await expect(api.catalogStatus()).rejects.toMatchObject({ code: 'network_error', status: 0 });
  });

  it('gives JSON errors without the envelope a generic code', async () => {
    const api = new ApiClient('', answering(500, '{"oops":true}'));
    await expect(api.listMovies()).rejects.toMatchObject({ code: 'http_error', status: 500 });
  });
});
