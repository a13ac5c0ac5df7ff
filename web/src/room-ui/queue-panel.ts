// The room's queue: what plays next, with who added it; for members with
// playback control, a catalog picker to add a movie, and per entry "Play
// now", up, down and remove; whether the next movie starts at the end of
// one (autoplay) and after how long a countdown ("Next: … in 8 s", which
// they may stop), and whether the others may suggest movies (then they get
// the picker too); and what the room watched. Every change goes to the room,
// which sends the new queue to everyone: nothing here changes it on its own.
import type { MovieSummary } from '../api/types';
import { formatDuration } from '../format';
import type { QueueEntry } from '../protocol/QueueEntry';
import type { QueueView } from '../protocol/QueueView';
import type { RoomClientMessage } from '../protocol/RoomClientMessage';
import type { WatchedEntry } from '../protocol/WatchedEntry';
import { h } from '../ui/dom';

/** The countdowns offered, s (0: the next movie starts at once). */
const COUNTDOWNS = [0, 5, 10, 30];

export interface QueuePanelHooks {
  send: (message: RoomClientMessage) => void;
  /** Catalog movies to offer, matching `query`. */
  search: (query: string) => Promise<MovieSummary[]>;
  /** The server's clock now, ms (for the countdown). */
  serverNow: () => number;
}

export class QueuePanel {
  readonly element: HTMLElement;
  readonly #hooks: QueuePanelHooks;
  readonly #list = h('ol', { class: 'queue', 'aria-label': 'Up next' });
  readonly #empty = h('p', { class: 'muted' }, 'Nothing queued.');
  readonly #picker = h('select', { 'aria-label': 'Movie to add', 'data-testid': 'queue-picker' });
  readonly #add = h('button', { type: 'button', 'data-testid': 'queue-add' }, 'Add to queue');
  readonly #autoplay = h('input', { type: 'checkbox', 'data-testid': 'queue-autoplay' });
  readonly #suggestions = h('input', { type: 'checkbox', 'data-testid': 'queue-suggestions' });
  readonly #countdownSecs = h('select', { 'aria-label': 'Countdown before the next movie' });
  readonly #countdown = h('p', { class: 'countdown', role: 'status', 'data-testid': 'queue-countdown', hidden: true });
  readonly #cancel = h('button', { type: 'button' }, 'Stop');
  readonly #history = h('ul', { class: 'history', 'aria-label': 'Watched' });
  readonly #historyRow = h('details', { class: 'history-row' }, h('summary', {}, 'Watched'), this.#history);
  readonly #adding: HTMLElement;
  readonly #settings: HTMLElement;
  #queue: QueueView = { version: 0, entries: [], autoplay: true, countdown_secs: 0, suggestions: false };
  #allowed = false;
  #ticker: ReturnType<typeof setInterval> | undefined;

  constructor(hooks: QueuePanelHooks) {
    this.#hooks = hooks;
    for (const secs of COUNTDOWNS) this.#countdownSecs.append(h('option', { value: String(secs) }, secs === 0 ? 'at once' : `after ${secs} s`));
    this.#add.addEventListener('click', () => {
      const movie = this.#picker.value;
      if (movie !== '') hooks.send({ type: 'queue_add', movie });
    });
    const settings = (): void =>
      hooks.send({
        type: 'queue_settings',
        autoplay: this.#autoplay.checked,
        countdown_secs: Number(this.#countdownSecs.value),
        suggestions: this.#suggestions.checked,
      });
    for (const input of [this.#autoplay, this.#countdownSecs, this.#suggestions]) input.addEventListener('change', settings);
    this.#cancel.addEventListener('click', () => hooks.send({ type: 'cancel_countdown' }));
    this.#adding = h('div', { class: 'queue-add' }, this.#picker, this.#add);
    this.#settings = h('div', { class: 'queue-settings' },
      h('label', {}, this.#autoplay, ' Play the next movie '),
      this.#countdownSecs,
      h('label', {}, this.#suggestions, ' Everyone may suggest'),
    );
    this.#countdown.append(this.#cancel);
    this.element = h('section', { class: 'queue-panel', 'aria-label': 'Queue' },
      h('h2', {}, 'Up next'),
      this.#countdown,
      this.#list,
      this.#empty,
      this.#adding,
      this.#settings,
      this.#historyRow,
    );
    void this.#fillPicker();
  }

  /** Whether this member may change the queue (playback control). */
  setAllowed(allowed: boolean): void {
    this.#allowed = allowed;
    this.#render();
  }

  update(queue: QueueView): void {
    this.#queue = queue;
    this.#autoplay.checked = queue.autoplay;
    this.#suggestions.checked = queue.suggestions;
    // A countdown set elsewhere (another client, the protocol) is shown as it is.
    const secs = String(queue.countdown_secs);
    if (![...this.#countdownSecs.options].some((o) => o.value === secs)) {
      this.#countdownSecs.append(h('option', { value: secs }, `after ${secs} s`));
    }
    this.#countdownSecs.value = secs;
    this.#render();
  }

  history(history: WatchedEntry[]): void {
    this.#history.replaceChildren(
      ...[...history].reverse().map((w) =>
        h('li', {}, w.title, h('span', { class: 'muted' }, w.finished ? ' · watched' : ` · stopped at ${formatDuration(w.watched_ms)}`)),
      ),
    );
    this.#historyRow.hidden = history.length === 0;
  }

  close(): void {
    clearInterval(this.#ticker);
  }

  #render(): void {
    // Others see the settings, and add only while the queue takes suggestions.
    this.#adding.hidden = !this.#allowed && !this.#queue.suggestions;
    this.#add.textContent = this.#allowed ? 'Add to queue' : 'Suggest';
    this.#cancel.hidden = !this.#allowed;
    for (const input of [this.#autoplay, this.#countdownSecs, this.#suggestions]) input.disabled = !this.#allowed;
    const entries = this.#queue.entries;
    this.#empty.hidden = entries.length > 0;
    this.#list.replaceChildren(...entries.map((entry, i) => this.#row(entry, i, entries.length)));
    this.#showCountdown();
  }

  #row(entry: QueueEntry, index: number, count: number): HTMLElement {
    const send = this.#hooks.send;
    const version = this.#queue.version;
    const item = h('li', { 'data-entry': entry.id },
      h('span', { class: 'title' }, entry.title),
      h('span', { class: 'muted' }, ` · ${formatDuration(entry.duration_ms)} · ${entry.suggested === true ? 'suggested' : 'added'} by ${entry.added_by}`),
    );
    if (!this.#allowed) return item;
    const button = (label: string, title: string, message: RoomClientMessage, disabled = false): HTMLButtonElement =>
      h('button', { type: 'button', title, 'aria-label': `${title}: ${entry.title}`, disabled, onclick: () => send(message) }, label);
    item.append(
      h('span', { class: 'queue-actions' },
        button('Play now', 'Play now', { type: 'queue_play', entry: entry.id }),
        button('↑', 'Move up', { type: 'queue_move', entry: entry.id, to: index - 1, based_on: version }, index === 0),
        button('↓', 'Move down', { type: 'queue_move', entry: entry.id, to: index + 1, based_on: version }, index === count - 1),
        button('✕', 'Remove', { type: 'queue_remove', entry: entry.id }),
      ),
    );
    return item;
  }

  /** "Next: X in N s", ticking each second while a countdown runs. */
  #showCountdown(): void {
    clearInterval(this.#ticker);
    const countdown = this.#queue.countdown;
    const next = this.#queue.entries.find((e) => e.id === countdown?.entry);
    this.#countdown.hidden = countdown === undefined || next === undefined;
    if (countdown === undefined || next === undefined) return;
    const text = document.createTextNode('');
    this.#countdown.replaceChildren(text, ' ', this.#cancel);
    const tick = (): void => {
      const secs = Math.max(0, Math.ceil((countdown.ends_at_ms - this.#hooks.serverNow()) / 1000));
      text.textContent = `Next: ${next.title} in ${secs} s`;
    };
    tick();
    this.#ticker = setInterval(tick, 1_000);
  }

  async #fillPicker(): Promise<void> {
    try {
      const movies = await this.#hooks.search('');
      this.#picker.replaceChildren(...movies.map((m) => h('option', { value: m.id }, m.title)));
    } catch {
      this.#picker.replaceChildren(h('option', { value: '' }, 'The catalog could not be read'));
    }
  }
}
