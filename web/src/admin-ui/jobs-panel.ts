// The ingest jobs as they run: the server streams the list (server-sent
// events) whenever it changes, so each job's bar moves without polling. A
// waiting or running job can be cancelled; a finished one dismissed.
import type { AdminClient } from '../api/admin-client';
import { ApiError } from '../api/client';
import type { IngestJob, JobList } from '../api/types';
import { formatDuration } from '../format';
import { h, mount } from '../ui/dom';
import type { Cleanup } from '../pages/page';

/** `onReady` runs when a job finishes with a movie (the library shows it then). */
export function jobsPanel(admin: AdminClient, onReady: (job: IngestJob) => void): { element: HTMLElement; stop: Cleanup } {
  const list = h('ul', { class: 'jobs', 'aria-live': 'polite' });
  const element = h('section', { class: 'jobs-panel', 'aria-label': 'Ingest jobs', hidden: true }, h('h2', {}, 'Jobs'), list);
  const done = new Set<string>();
  let first = true;
  const show = (jobs: IngestJob[]): void => {
    element.hidden = jobs.length === 0;
    mount(list, ...jobs.map((job) => jobRow(admin, job)));
    for (const job of jobs) {
      if (job.state !== 'done' || done.has(job.id)) continue;
      done.add(job.id);
      // Jobs already done when the page opened are in the library already.
      if (!first) onReady(job);
    }
    first = false;
  };
  const events = new EventSource('/api/admin/jobs/events');
  events.addEventListener('jobs', (event) => {
    show((JSON.parse((event as MessageEvent<string>).data) as JobList).jobs);
  });
  return { element, stop: () => events.close() };
}

function jobRow(admin: AdminClient, job: IngestJob): HTMLElement {
  const status = h('span', { class: 'job-status' }, describe(job));
  const finished = job.state === 'done' || job.state === 'failed' || job.state === 'cancelled';
  const action = h('button', { type: 'button', class: finished ? '' : 'danger' }, finished ? 'Dismiss' : 'Cancel');
  action.addEventListener('click', () => {
    action.disabled = true;
    admin.cancelJob(job.id).catch((error: unknown) => {
      status.textContent = error instanceof ApiError ? error.message : 'Could not change the job.';
      action.disabled = false;
    });
  });
  return h(
    'li',
    { class: `job ${job.state}`, 'data-job-id': job.id, 'data-state': job.state },
    h('span', { class: 'job-title' }, job.title),
    h('progress', { max: 100, value: job.state === 'done' ? 100 : job.percent, 'aria-label': `Progress of ${job.title}` }),
    status,
    job.movie_id === null || job.movie_id === undefined ? null : h('a', { href: `/movies/${encodeURIComponent(job.movie_id)}` }, 'Open'),
    action,
  );
}

/** What a job is doing, for people. */
export function describe(job: IngestJob): string {
  switch (job.state) {
    case 'queued':
      return 'Waiting for its turn';
    case 'running': {
      const eta = job.eta_secs === null || job.eta_secs === undefined ? '' : `, ${formatDuration(job.eta_secs * 1000)} left`;
      return job.step === 'encoding' ? `Encoding: ${job.percent} %${eta}` : job.step === 'finishing' ? 'Finishing' : 'Starting';
    }
    case 'done':
      return 'Ready';
    case 'failed':
      return `Failed: ${job.message ?? job.error ?? 'unknown reason'}`;
    case 'cancelled':
      return 'Cancelled';
  }
}
