// The room's playback bar: play/pause, the seek bar, the clock and "Sync
// now". Play, pause and seek go to the room, never straight to the video, so
// everyone moves together; a member the room's policy does not let control
// playback sees them disabled with the reason. Space or K plays and pauses,
// the arrow keys seek 10 s.
// The clock and the seek bar show the room's position, not the video's.
import { formatDuration } from '../format';
import type { ControlPolicy } from '../protocol/ControlPolicy';
import type { RoomClient } from '../rooms/room-client';
import { h } from '../ui/dom';

/** What the controls read from the room and send to it. */
export type ControlledRoom = Pick<RoomClient, 'member' | 'members' | 'policy' | 'playback' | 'roomPosition' | 'control'>;

/** What "Sync now" asks of whatever keeps this page's video on the room's clock. */
export interface Resyncing {
  resync(): void;
}

const DISPLAY_EVERY_MS = 500;
/** How far the arrow keys seek, ms. */
export const SEEK_STEP_MS = 10_000;
/** Seeks asked within this long of each other go as one, ms. */
const SEEK_GATHER_MS = 250;

export class PlaybackControls {
  /** The bar: these controls, the page's others placed in it, and the reason they may be disabled. */
  readonly element: HTMLElement;
  readonly #play = h('button', { type: 'button', 'data-testid': 'play' }, 'Play');
  readonly #seek = h('input', { type: 'range', min: 0, max: 1000, value: 0, 'aria-label': 'Position' });
  readonly #clock = h('span', { class: 'muted clock' }, '0:00');
  readonly #sync = h('button', { type: 'button', title: 'Put this player back on the room’s position' }, 'Sync now');
  readonly #why = h('span', { class: 'muted control-reason' });
  readonly #room: ControlledRoom;
  readonly #durationMs: () => number;
  readonly #display: ReturnType<typeof setInterval>;
  #pendingSeekMs = 0;
  #seekTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onKey = (event: KeyboardEvent): void => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target as HTMLElement | null;
    // Not while typing, nor on a control that takes these keys itself.
    const typing = target?.closest('input, textarea, select, summary, [contenteditable]') != null;
    // Space or K plays and pauses (on a button, Space presses the button).
    if ((event.key === ' ' || event.key === 'k') && !typing && target?.closest('button') == null) {
      event.preventDefault();
      this.#togglePlay();
    }
    // The arrows seek 10 s (buttons do nothing with them); a key held down seeks once.
    if ((event.key === 'ArrowLeft' || event.key === 'ArrowRight') && !typing) {
      event.preventDefault();
      if (!event.repeat) this.seekBy(event.key === 'ArrowRight' ? SEEK_STEP_MS : -SEEK_STEP_MS);
    }
  };

  /**
   * `durationMs` gives the length of what plays now (the movie, or a file in
   * its place); `sync`, the page's current sync controller (it changes when a
   * file plays). `others` are the page's controls that share this bar, shown
   * before the reason: they are disabled for the same one.
   */
  constructor(room: ControlledRoom, durationMs: () => number, sync: () => Resyncing, others: readonly HTMLElement[] = []) {
    this.#room = room;
    this.#durationMs = durationMs;
    this.element = h('div', { class: 'player-bar' }, this.#play, this.#seek, this.#clock, this.#sync, ...others, this.#why);
    this.#play.addEventListener('click', () => this.#togglePlay());
    this.#seek.addEventListener('change', () => {
      room.control({ action: 'seek', position_ms: (Number(this.#seek.value) / 1000) * durationMs() });
    });
    this.#sync.addEventListener('click', () => sync().resync());
    document.addEventListener('keydown', this.#onKey);
    this.#display = setInterval(() => this.#show(), DISPLAY_EVERY_MS);
  }

  /**
   * Enables the controls if this member may control playback under `policy`
   * (the room's own when not given), and labels play/pause by the room's
   * state. Returns why they may not, for the page's other controls.
   */
  refresh(policy?: ControlPolicy): string | undefined {
    const reason = this.mayControl(policy);
    this.#play.disabled = this.#seek.disabled = reason !== undefined;
    this.#why.textContent = reason ?? '';
    this.#play.textContent = this.#room.playback?.playing === true ? 'Pause' : 'Play';
    return reason;
  }

  /** Why this member may not control playback under `policy`; undefined when they may. */
  mayControl(policy: ControlPolicy = this.#room.policy): string | undefined {
    const me = this.#room.members.find((m) => m.id === this.#room.member);
    if (me === undefined) return 'Not in the room yet';
    if (policy === 'everyone' || me.role === 'host') return undefined;
    if (policy === 'cohosts' && me.role === 'cohost') return undefined;
    return policy === 'cohosts' ? 'Only the host and co-hosts control playback' : 'Only the host controls playback';
  }

  close(): void {
    clearInterval(this.#display);
    clearTimeout(this.#seekTimer);
    document.removeEventListener('keydown', this.#onKey);
  }

  #togglePlay(): void {
    if (this.#play.disabled) return;
    const position_ms = this.#room.roomPosition() ?? 0;
    this.#room.control(this.#room.playback?.playing === true ? { action: 'pause', position_ms } : { action: 'play', position_ms });
  }

  /**
   * Seeks the room by `deltaMs` from where it is (the arrow keys, a double
   * tap). Presses in quick succession add up and go as one seek: each command
   * names the room's state it was based on, and a second one sent before the
   * room answered the first would be refused as stale.
   */
  seekBy(deltaMs: number): void {
    if (this.#seek.disabled) return;
    this.#pendingSeekMs += deltaMs;
    clearTimeout(this.#seekTimer);
    this.#seekTimer = setTimeout(() => {
      const position_ms = Math.min(Math.max(0, (this.#room.roomPosition() ?? 0) + this.#pendingSeekMs), this.#durationMs());
      this.#pendingSeekMs = 0;
      this.#room.control({ action: 'seek', position_ms });
    }, SEEK_GATHER_MS);
  }

  #show(): void {
    const position = this.#room.roomPosition() ?? 0;
    const durationMs = this.#durationMs();
    this.#clock.textContent = `${formatDuration(position)} / ${formatDuration(durationMs)}`;
    this.#seek.setAttribute('aria-valuetext', `${formatDuration(position)} of ${formatDuration(durationMs)}`);
    // Not while the member drags it: their choice is sent when they let go.
    if (document.activeElement !== this.#seek && durationMs > 0) this.#seek.value = String(Math.round((position / durationMs) * 1000));
  }
}
