// Entry point: routes the URL to a page and keeps the two in step.
import './styles.css';

import { ApiClient } from './api/client';
import { startPresence } from './lobby/presence-panel';
import { renderAdmin } from './pages/admin';
import { renderCatalog } from './pages/catalog';
import { renderMovie } from './pages/movie';
import { renderRoom } from './pages/room';
import type { Cleanup, PageContext } from './pages/page';
import { parseRoute } from './router';
import { h, mount } from './ui/dom';

const root = document.querySelector<HTMLElement>('#app');
if (root === null) throw new Error('index.html has no #app element');

let cleanup: Cleanup = () => {};
const presenceSlot = document.querySelector<HTMLElement>('#presence');
const ctx: PageContext = {
  api: new ApiClient(),
  navigate: (href) => {
    history.pushState(null, '', href);
    show();
  },
  enteredRoom: (room, pass) => presence?.enterRoom(room, pass),
};

function show(): void {
  cleanup();
  document.title = 'Cinemesh';
  window.scrollTo(0, 0);
  const route = parseRoute(location.pathname, location.search);
  presence?.setRoom(route.name === 'room' ? route.id : undefined);
  const main = root as HTMLElement;
  switch (route.name) {
    case 'catalog':
      cleanup = renderCatalog(main, route.q, route.page, ctx);
      break;
    case 'movie':
      cleanup = renderMovie(main, route.id, ctx);
      break;
    case 'room':
      cleanup = renderRoom(main, route.id, ctx);
      break;
    case 'admin':
      cleanup = renderAdmin(main);
      break;
    case 'not_found':
      mount(main, h('div', { class: 'notice' }, h('h1', {}, 'Page not found'), h('p', {}, `Nothing here at ${route.path}.`), h('a', { href: '/' }, 'See all movies')));
      cleanup = () => {};
      break;
  }
}

const presence = presenceSlot === null ? undefined : startPresence(presenceSlot, (href) => ctx.navigate(href));
window.addEventListener('popstate', show);
document.querySelector('a.brand')?.addEventListener('click', (event) => {
  event.preventDefault();
  ctx.navigate('/');
});
show();
