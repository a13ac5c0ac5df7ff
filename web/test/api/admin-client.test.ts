import { describe, expect, it } from 'vitest';

import { AdminClient } from '../../src/api/admin-client';

interface Seen {
  url: string;
  method: string;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
}

/** A fetch that answers with `answers` in turn and records each request. */
function server(answers: { status: number; body?: unknown }[], seen: Seen[]) {
  return async (input: string, init?: RequestInit): Promise<Response> => {
    seen.push({
      url: input,
      method: init?.method ?? 'GET',
      headers: (init?.headers ?? {}) as Record<string, string>,
      credentials: init?.credentials,
    });
    const answer = answers.shift() ?? { status: 500 };
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), { status: answer.status });
  };
}

const session = { user: 'ana', csrf_token: 'csrf-1', expires_at_ms: 1 };

describe('AdminClient', () => {
  it('repeats the CSRF token on changes only, and sends the cookie', async () => {
    const seen: Seen[] = [];
    const admin = new AdminClient(server([{ status: 200, body: session }, { status: 200, body: {} }, { status: 204 }], seen));
    await admin.signIn({ user: 'ana', password: 'a long passphrase' });
    await admin.library({ q: ' x ', sort: 'size', order: 'asc' });
    await admin.deleteMovie('m 1');
    expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /api/admin/session',
      'GET /api/admin/library?q=x&sort=size&order=asc',
      'DELETE /api/admin/movies/m%201',
    ]);
    expect(seen[1]?.headers['x-csrf-token']).toBeUndefined();
    expect(seen[2]?.headers['x-csrf-token']).toBe('csrf-1');
    expect(seen.every((s) => s.credentials === 'same-origin')).toBe(true);
  });

  it('forgets the token when signed out, and reports a lost session by its code', async () => {
    const seen: Seen[] = [];
    const admin = new AdminClient(
      server(
        [
          { status: 200, body: session },
          { status: 204 },
          { status: 401, body: { error: 'session_expired', message: 'sign in again' } },
        ],
        seen,
      ),
    );
    await admin.session();
    await admin.signOut();
    await expect(admin.editMovie('m1', { title: 'X' })).rejects.toMatchObject({ code: 'session_expired', status: 401 });
    expect(seen[2]?.headers['x-csrf-token']).toBeUndefined();
  });
});
