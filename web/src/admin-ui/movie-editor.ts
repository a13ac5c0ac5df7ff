// The edit dialog of one movie: title, year, description, and the poster
// (an image from this computer, or a frame of the movie at a chosen time).
import type { AdminClient } from '../api/admin-client';
import { ApiError } from '../api/client';
import type { LibraryMovie, MovieEdit } from '../api/types';
import { formatDuration } from '../format';
import { h } from '../ui/dom';

/** Opens the dialog; `changed` runs after each change the server took. */
export function openMovieEditor(admin: AdminClient, movie: LibraryMovie, changed: () => void): HTMLDialogElement {
  const title = h('input', { type: 'text', name: 'title', required: true, maxlength: 200, value: movie.title });
  const year = h('input', { type: 'number', name: 'year', min: 1878, max: 2200, value: movie.year ?? '' });
  const description = h('textarea', { name: 'description', rows: 4, maxlength: 4000 });
  description.value = movie.description;
  const poster = h('img', { class: 'poster-preview', src: movie.poster_url, alt: `Poster of ${movie.title}`, width: 320, height: 180 });
  const image = h('input', { type: 'file', name: 'poster', accept: 'image/jpeg,image/png,image/webp' });
  const frameAt = h('input', {
    type: 'text',
    name: 'frame_at',
    value: formatDuration(movie.duration_ms / 10),
    pattern: '[0-9:]+',
    'aria-label': 'Time of the frame (m:ss)',
    size: 7,
  });
  const status = h('p', { class: 'form-status', role: 'status', 'aria-live': 'polite' });
  const save = h('button', { type: 'submit' }, 'Save');
  const close = h('button', { type: 'button', value: 'cancel' }, 'Close');
  const report = (error: unknown): void => {
    status.textContent = error instanceof ApiError ? `${error.message} (${error.code})` : 'Something went wrong.';
  };
  const showPoster = (url: string): void => {
    poster.src = url;
    status.textContent = 'Poster replaced.';
    changed();
  };

  image.addEventListener('change', () => {
    const file = image.files?.[0];
    if (file === undefined) return;
    status.textContent = 'Uploading the poster…';
    admin.uploadPoster(movie.id, file).then((detail) => showPoster(detail.poster_url), report);
  });
  const useFrame = h('button', { type: 'button' }, 'Use this frame');
  useFrame.addEventListener('click', () => {
    const atMs = parseClock(frameAt.value);
    if (atMs === undefined || atMs >= movie.duration_ms) {
      status.textContent = `Give a time between 0:00 and ${formatDuration(movie.duration_ms)}.`;
      return;
    }
    status.textContent = 'Taking the frame…';
    admin.posterFromFrame(movie.id, atMs).then((detail) => showPoster(detail.poster_url), report);
  });

  const form = h(
    'form',
    { method: 'dialog', class: 'editor' },
    h('h2', {}, `Edit “${movie.title}”`),
    h('label', { class: 'field' }, 'Title', title),
    h('label', { class: 'field' }, 'Year', year),
    h('label', { class: 'field' }, 'Description', description),
    h(
      'fieldset',
      { class: 'poster-field' },
      h('legend', {}, 'Poster'),
      poster,
      h('label', { class: 'field' }, 'Upload an image (JPEG, PNG or WebP, up to 5 MB)', image),
      h('div', { class: 'frame-pick' }, h('label', {}, 'Or a frame at ', frameAt), useFrame),
    ),
    h('div', { class: 'dialog-actions' }, save, close),
    status,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const edit: MovieEdit = {
      title: title.value,
      description: description.value,
      year: year.value === '' ? null : Number(year.value),
    };
    save.disabled = true;
    status.textContent = 'Saving…';
    admin
      .editMovie(movie.id, edit)
      .then(() => {
        status.textContent = 'Saved.';
        changed();
        dialog.close();
      }, report)
      .finally(() => {
        save.disabled = false;
      });
  });
  const dialog = h('dialog', { class: 'admin-dialog', 'aria-label': `Edit ${movie.title}` }, form);
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** "1:23" → 83_000; "1:02:03" → 3_723_000; "45" → 45_000; undefined when not a time. */
export function parseClock(text: string): number | undefined {
  const parts = text.trim().split(':');
  if (parts.length > 3 || parts.some((p) => !/^\d+$/.test(p))) return undefined;
  return parts.reduce((total, part) => total * 60 + Number(part), 0) * 1000;
}
