// Asks before a movie is deleted, saying what ends with it.
import type { LibraryMovie } from '../api/types';
import { h } from '../ui/dom';

export function confirmDelete(movie: LibraryMovie, remove: () => Promise<void>): HTMLDialogElement {
  const status = h('p', { class: 'form-status', role: 'alert' });
  const confirm = h('button', { type: 'submit', class: 'danger' }, 'Delete for good');
  const cancel = h('button', { type: 'button', autofocus: true }, 'Keep it');
  const watching =
    movie.viewers_now > 0
      ? `${movie.viewers_now} ${movie.viewers_now === 1 ? 'viewer is' : 'viewers are'} watching it now; their players stop.`
      : 'Nobody is watching it now.';
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', {}, `Delete “${movie.title}”?`),
    h('p', {}, 'Its files and catalog entry are removed. Rooms playing it end, and their members are told. ', watching),
    h('div', { class: 'dialog-actions' }, confirm, cancel),
    status,
  );
  const dialog = h('dialog', { class: 'admin-dialog', role: 'alertdialog', 'aria-label': `Delete ${movie.title}` }, form);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    confirm.disabled = true;
    status.textContent = 'Deleting…';
    remove().then(
      () => dialog.close(),
      (error: unknown) => {
        status.textContent = error instanceof Error ? error.message : 'The movie could not be deleted.';
        confirm.disabled = false;
      },
    );
  });
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
