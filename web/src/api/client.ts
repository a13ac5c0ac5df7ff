// A small typed client for the Cinemesh HTTP API. Every failure becomes an
// `ApiError` with the server's stable code, or `network_error` /
// `invalid_response` when there was no usable answer.
import type { CatalogStatus, CreateRoom, ErrorBody, MovieDetail, MoviePage, RoomSummary, SegmentManifest } from './types';

export class ApiError extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status: number) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = status;
  }
}

export interface ListParams {
  q?: string;
  page?: number;
  perPage?: number;
}

export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

export class ApiClient {
  readonly #base: string;
  readonly #fetch: Fetch;

  /** `base` is the server origin ('' for the page's own). */
  constructor(base = '', fetchImpl: Fetch = (input, init) => fetch(input, init)) {
    this.#base = base.replace(/\/$/, '');
    this.#fetch = fetchImpl;
  }

  listMovies(params: ListParams = {}, signal?: AbortSignal): Promise<MoviePage> {
    return this.#get<MoviePage>(`/api/movies${listQuery(params)}`, signal);
  }

  getMovie(id: string, signal?: AbortSignal): Promise<MovieDetail> {
    return this.#get<MovieDetail>(`/api/movies/${encodeURIComponent(id)}`, signal);
  }

  getSegmentManifest(id: string, signal?: AbortSignal): Promise<SegmentManifest> {
    return this.#get<SegmentManifest>(`/api/movies/${encodeURIComponent(id)}/segments`, signal);
  }

  catalogStatus(signal?: AbortSignal): Promise<CatalogStatus> {
    return this.#get<CatalogStatus>('/api/catalog/status', signal);
  }

  getRoom(id: string, signal?: AbortSignal): Promise<RoomSummary> {
    return this.#get<RoomSummary>(`/api/rooms/${encodeURIComponent(id)}`, signal);
  }

  createRoom(room: CreateRoom, signal?: AbortSignal): Promise<RoomSummary> {
    return this.#request<RoomSummary>(`/api/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(room),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  #get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.#request<T>(path, signal ? { signal } : {});
  }

  #request<T>(path: string, init: RequestInit): Promise<T> {
    return fetchJson<T>(this.#fetch, this.#base + path, init);
  }
}

/** One request whose answer is JSON (or nothing, for 204); failures become `ApiError`s. */
export async function fetchJson<T>(fetchImpl: Fetch, url: string, init: RequestInit): Promise<T> {
  let response: Response;
  try {
    response = await fetchImpl(url, init);
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError('network_error', 'The server could not be reached.', 0);
  }
  if (response.status === 204) return undefined as T;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ApiError('invalid_response', `The server answered ${response.status} without JSON.`, response.status);
  }
  if (!response.ok) {
    const error = isErrorBody(body) ? body : { error: 'http_error', message: `HTTP ${response.status}` };
    throw new ApiError(error.error, error.message, response.status);
  }
  return body as T;
}

/** `?q=..&page=..&per_page=..` with only the parameters that are set. */
export function listQuery({ q, page, perPage }: ListParams): string {
  const params = new URLSearchParams();
  if (q !== undefined && q.trim() !== '') params.set('q', q.trim());
  if (page !== undefined && page > 1) params.set('page', String(page));
  if (perPage !== undefined) params.set('per_page', String(perPage));
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).error === 'string' &&
    typeof (value as ErrorBody).message === 'string'
  );
}
