// Adding movies: files go up with tus, so a dropped connection or a closed
// laptop resumes where it stopped (the same file chosen again after a reload
// resumes too). Each upload shows its progress, speed and time left; the
// server turns a finished upload into an ingest job (see the jobs panel).
import * as tus from 'tus-js-client';

import type { AdminClient } from '../api/admin-client';
import { formatBytes, formatDuration } from '../format';
import { h } from '../ui/dom';

/** Waits between attempts after a failure; tus asks the server where to resume each time. */
const RETRY_DELAYS_MS = [0, 1000, 3000, 5000, 10000, 20000, 30000];
/** Speed is averaged over this window. */
const SPEED_WINDOW_MS = 5000;

export function uploadPanel(admin: AdminClient): HTMLElement {
  const file = h('input', { type: 'file', name: 'movie', accept: 'video/*,.mkv,.mp4,.m4v,.mov,.webm,.avi,.ts,.m2ts,.flv,.ogv,.mpg,.mpeg,.wmv', required: true });
  const title = h('input', { type: 'text', name: 'title', maxlength: 200, placeholder: 'The file’s name' });
  const year = h('input', { type: 'number', name: 'year', min: 1878, max: 2200 });
  const list = h('ul', { class: 'uploads', 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'upload-form' },
    h('label', { class: 'field' }, 'Movie file', file),
    h('label', { class: 'field' }, 'Title', title),
    h('label', { class: 'field' }, 'Year', year),
    h('button', { type: 'submit' }, 'Upload'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = file.files?.[0];
    if (chosen === undefined) return;
    list.prepend(startUpload(admin, chosen, title.value.trim(), year.value.trim()));
    form.reset();
  });
  return h('section', { class: 'upload-panel', 'aria-label': 'Add a movie' }, h('h2', {}, 'Add a movie'), form, list);
}

function startUpload(admin: AdminClient, file: File, title: string, year: string): HTMLElement {
  const bar = h('progress', { max: 100, value: 0, 'aria-label': `Upload of ${file.name}` });
  const status = h('span', { class: 'upload-status' }, 'Starting…');
  const pause = h('button', { type: 'button' }, 'Pause');
  const cancel = h('button', { type: 'button', class: 'danger' }, 'Cancel');
  const item = h('li', { class: 'upload', 'data-file': file.name }, h('span', { class: 'upload-name' }, file.name), bar, status, pause, cancel);
  const samples: { at: number; bytes: number }[] = [];

  const metadata: Record<string, string> = { filename: file.name, filetype: file.type };
  if (title !== '') metadata.title = title;
  if (year !== '') metadata.year = year;
  const upload = new tus.Upload(file, {
    endpoint: '/api/admin/uploads',
    metadata,
    retryDelays: RETRY_DELAYS_MS,
    removeFingerprintOnSuccess: true,
    // The session's CSRF token, read when each request goes (it may be renewed).
    onBeforeRequest: (request) => {
      for (const [name, value] of Object.entries(admin.changeHeaders())) request.setHeader(name, value);
    },
    onProgress: (sent, total) => {
      const now = performance.now();
      samples.push({ at: now, bytes: sent });
      while (samples.length > 2 && (samples[0]?.at ?? now) < now - SPEED_WINDOW_MS) samples.shift();
      const oldest = samples[0] ?? { at: now, bytes: sent };
      const speed = now > oldest.at ? ((sent - oldest.bytes) / (now - oldest.at)) * 1000 : 0;
      bar.value = total > 0 ? (sent / total) * 100 : 0;
      const left = speed > 0 ? `, ${formatDuration(((total - sent) / speed) * 1000)} left` : '';
      status.textContent = `${formatBytes(sent)} of ${formatBytes(total)} · ${formatBytes(speed)}/s${left}`;
    },
    onError: (error) => {
      status.textContent = `Stopped: ${uploadError(error)}`;
      pause.textContent = 'Retry';
    },
    onSuccess: () => {
      bar.value = 100;
      status.textContent = 'Uploaded: the movie is being prepared (see the jobs).';
      pause.remove();
      cancel.remove();
    },
  });
  let paused = false;
  pause.addEventListener('click', () => {
    if (paused || pause.textContent === 'Retry') {
      paused = false;
      pause.textContent = 'Pause';
      status.textContent = 'Resuming…';
      upload.start();
    } else {
      paused = true;
      pause.textContent = 'Resume';
      status.textContent = 'Paused.';
      void upload.abort();
    }
  });
  cancel.addEventListener('click', () => {
    // Terminates the upload on the server too: its bytes are removed.
    void upload.abort(true).finally(() => item.remove());
  });
  void upload.findPreviousUploads().then((previous) => {
    const earlier = previous[0];
    if (earlier !== undefined) upload.resumeFromPreviousUpload(earlier);
    upload.start();
  });
  return item;
}

/** The server's message when it sent one (`{error, message}`), else tus's own. */
function uploadError(error: Error): string {
  const response = (error as tus.DetailedError).originalResponse;
  if (response !== null && response !== undefined) {
    try {
      const body = JSON.parse(response.getBody()) as { error?: string; message?: string };
      if (body.message !== undefined) return `${body.message} (${body.error ?? response.getStatus()})`;
    } catch {
      // Not our JSON: fall through to tus's message.
    }
  }
  return error.message;
}
