// /admin: sign in, then the library (search, sort, edit, delete). The session
// is an HttpOnly cookie; the page holds only the CSRF token, in memory.
import { AdminClient } from '../api/admin-client';
import { ApiError } from '../api/client';
import type { LibraryPage, SignIn } from '../api/types';
import { confirmDelete } from '../admin-ui/delete-dialog';
import { jobsPanel } from '../admin-ui/jobs-panel';
import { libraryTable, type SortState } from '../admin-ui/library-table';
import { openMovieEditor } from '../admin-ui/movie-editor';
import { signInForm } from '../admin-ui/sign-in-form';
import { uploadPanel } from '../admin-ui/upload-panel';
import { pageCount } from '../format';
import { h, mount } from '../ui/dom';
import { errorBox } from './catalog';
import type { Cleanup } from './page';

const PER_PAGE = 50;
const SEARCH_DEBOUNCE_MS = 250;

export function renderAdmin(root: HTMLElement, admin: AdminClient = new AdminClient()): Cleanup {
  document.title = 'Admin · Cinemesh';
  let closed = false;
  let stopLibrary: Cleanup = () => {};

  const showSignIn = (reason?: string): void => {
    stopLibrary();
    mount(
      root,
      signInForm(async (credentials: SignIn) => {
        const session = await admin.signIn(credentials);
        if (!closed) showLibrary(session.user);
      }, reason),
    );
  };
  const showLibrary = (user: string): void => {
    stopLibrary = renderLibrary(root, admin, user, showSignIn);
  };

  admin.session().then(
    (session) => {
      if (!closed) showLibrary(session.user);
    },
    (error: unknown) => {
      if (closed) return;
      const expired = error instanceof ApiError && error.code === 'session_expired';
      if (error instanceof ApiError && (error.status === 401 || error.status === 403)) {
        showSignIn(expired ? 'Your session ended: sign in again.' : undefined);
      } else {
        mount(root, errorBox(error));
      }
    },
  );
  return () => {
    closed = true;
    stopLibrary();
  };
}

function renderLibrary(root: HTMLElement, admin: AdminClient, user: string, signedOut: (reason?: string) => void): Cleanup {
  const abort = new AbortController();
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  let order: SortState = { sort: 'added', order: 'desc' };
  let page = 1;
  let q = '';

  const search = h('input', { type: 'search', placeholder: 'Search the library', 'aria-label': 'Search the library', autocomplete: 'off' });
  const signOut = h('button', { type: 'button' }, 'Sign out');
  const results = h('section', { class: 'library-results', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const jobs = jobsPanel(admin, () => void load());
  mount(
    root,
    h(
      'div',
      { class: 'toolbar' },
      h('h1', {}, 'Library'),
      search,
      h('span', { class: 'muted signed-in' }, `Signed in as ${user}`, ' ', signOut),
    ),
    h('div', { class: 'admin-intake' }, uploadPanel(admin), jobs.element),
    results,
  );

  // A request that fails because the session ended goes back to the sign-in.
  const handle = (error: unknown): void => {
    if (abort.signal.aborted) return;
    if (error instanceof ApiError && error.status === 401) {
      signedOut('Your session ended: sign in again.');
      return;
    }
    mount(results, errorBox(error));
  };
  const load = async (): Promise<void> => {
    try {
      const data = await admin.library({ q, sort: order.sort, order: order.order, page, perPage: PER_PAGE }, abort.signal);
      show(data);
    } catch (error) {
      handle(error);
    }
  };
  const show = (data: LibraryPage): void => {
    if (data.total === 0) {
      mount(results, h('p', { class: 'muted' }, q === '' ? 'The library is empty.' : 'No movie matches.'));
      return;
    }
    const table = libraryTable(
      data.movies,
      order,
      (next) => {
        order = next;
        page = 1;
        void load();
      },
      {
        edit: (movie) => openMovieEditor(admin, movie, () => void load()),
        remove: (movie) => confirmDelete(movie, () => admin.deleteMovie(movie.id).then(() => load())),
      },
    );
    mount(results, h('p', { class: 'muted' }, `${data.total} ${data.total === 1 ? 'movie' : 'movies'}`), table, pager(data));
  };
  const pager = (data: LibraryPage): HTMLElement | null => {
    const pages = pageCount(data.total, data.per_page);
    if (pages <= 1) return null;
    const go = (to: number) => () => {
      page = to;
      void load();
    };
    return h(
      'nav',
      { class: 'pager', 'aria-label': 'Library pages' },
      h('button', { type: 'button', disabled: data.page <= 1, onclick: go(data.page - 1) }, '← Previous'),
      h('span', {}, `Page ${data.page} of ${pages}`),
      h('button', { type: 'button', disabled: data.page >= pages, onclick: go(data.page + 1) }, 'Next →'),
    );
  };

  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      q = search.value;
      page = 1;
      void load();
    }, SEARCH_DEBOUNCE_MS);
  });
  signOut.addEventListener('click', () => {
    admin.signOut().then(() => signedOut('Signed out.'), handle);
  });
  void load();
  return () => {
    abort.abort();
    clearTimeout(searchTimer);
    jobs.stop();
  };
}
