// The admin API as the admin page uses it. The session lives in an HttpOnly
// cookie the page cannot read; the page keeps only the CSRF token, in memory,
// and repeats it on every request that changes something.
import { fetchJson, type Fetch } from './client';
import type { IngestJob, JobList, LibraryPage, LibrarySort, MovieDetail, MovieEdit, SessionView, SignIn } from './types';

export interface LibraryParams {
  q?: string;
  sort?: LibrarySort;
  order?: 'asc' | 'desc';
  page?: number;
  perPage?: number;
}

export class AdminClient {
  readonly #fetch: Fetch;
  #csrf: string | undefined;

  constructor(fetchImpl: Fetch = (input, init) => fetch(input, init)) {
    this.#fetch = fetchImpl;
  }

  /** Who is signed in; rejects with `unauthorized` or `session_expired` when nobody is. */
  async session(): Promise<SessionView> {
    const session = await this.#send<SessionView>('GET', '/api/admin/session');
    this.#csrf = session.csrf_token ?? undefined;
    return session;
  }

  async signIn(credentials: SignIn): Promise<SessionView> {
    const session = await this.#send<SessionView>('POST', '/api/admin/session', json(credentials));
    this.#csrf = session.csrf_token ?? undefined;
    return session;
  }

  /** Headers a request that changes something must carry (for clients that send their own, like the uploader). */
  changeHeaders(): Record<string, string> {
    return this.#csrf === undefined ? {} : { 'x-csrf-token': this.#csrf };
  }

  listJobs(signal?: AbortSignal): Promise<JobList> {
    return this.#send<JobList>('GET', '/api/admin/jobs', { signal });
  }

  /** Cancels a waiting or running job; forgets a finished one. */
  cancelJob(id: string): Promise<IngestJob | undefined> {
    return this.#send<IngestJob | undefined>('DELETE', `/api/admin/jobs/${encodeURIComponent(id)}`);
  }

  async signOut(): Promise<void> {
    await this.#send<undefined>('DELETE', '/api/admin/session');
    this.#csrf = undefined;
  }

  library(params: LibraryParams, signal?: AbortSignal): Promise<LibraryPage> {
    const query = new URLSearchParams();
    if (params.q !== undefined && params.q.trim() !== '') query.set('q', params.q.trim());
    if (params.sort !== undefined) query.set('sort', params.sort);
    if (params.order !== undefined) query.set('order', params.order);
    if (params.page !== undefined && params.page > 1) query.set('page', String(params.page));
    if (params.perPage !== undefined) query.set('per_page', String(params.perPage));
    const text = query.toString();
    return this.#send<LibraryPage>('GET', `/api/admin/library${text === '' ? '' : `?${text}`}`, { signal });
  }

  editMovie(id: string, edit: MovieEdit): Promise<MovieDetail> {
    return this.#send<MovieDetail>('PATCH', `/api/admin/movies/${encodeURIComponent(id)}`, json(edit));
  }

  uploadPoster(id: string, image: Blob): Promise<MovieDetail> {
    return this.#send<MovieDetail>('PUT', `/api/admin/movies/${encodeURIComponent(id)}/poster`, {
      headers: { 'content-type': image.type },
      body: image,
    });
  }

  posterFromFrame(id: string, atMs: number): Promise<MovieDetail> {
    return this.#send<MovieDetail>('POST', `/api/admin/movies/${encodeURIComponent(id)}/poster/frame`, json({ at_ms: atMs }));
  }

  deleteMovie(id: string): Promise<void> {
    return this.#send<undefined>('DELETE', `/api/admin/movies/${encodeURIComponent(id)}`);
  }

  #send<T>(method: string, path: string, init: { headers?: Record<string, string>; body?: BodyInit; signal?: AbortSignal | undefined } = {}): Promise<T> {
    const headers: Record<string, string> = { ...init.headers };
    if (method !== 'GET') Object.assign(headers, this.changeHeaders());
    return fetchJson<T>(this.#fetch, path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
    });
  }
}

function json(value: unknown): { headers: Record<string, string>; body: string } {
  return { headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}
