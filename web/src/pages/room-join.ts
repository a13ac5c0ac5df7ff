// The screens around a watch party: the join form (a name, and the password
// when the room has one), shown again with the reason when the room refuses
// the join, and the screens for a room that does not exist or a member who
// cannot stay (removed, banned, the movie gone).
import type { RoomSummary } from '../api/types';
import { NAME_CHOSEN_EVENT, NAME_KEY } from '../lobby/presence-panel';
import { MAX_NAME_CHARS } from '../protocol/limits';
import { h, mount } from '../ui/dom';

/** What the join form gives: the name to join with, and the password the room asked for. */
export interface JoinAnswer {
  name: string;
  password: string | undefined;
}

/** Refusals that send the member back to the join form, with the reason. */
export const JOIN_REFUSALS = new Set(['wrong_password', 'too_many_attempts', 'name_taken', 'invalid_name']);

export function roomNotFound(): HTMLElement {
  return h(
    'div',
    { class: 'notice error', role: 'alert' },
    h('h1', {}, 'Room not found'),
    h('p', {}, 'This watch party does not exist, or its link is mistyped.'),
    h('a', { href: '/', class: 'button' }, 'Browse movies and start one'),
  );
}

export function endScreen(title: string, text: string): HTMLElement {
  return h('div', { class: 'notice error', role: 'alert' }, h('h1', {}, title), h('p', {}, text), h('a', { href: '/', class: 'button' }, 'Back to the movies'));
}

/**
 * The screen for a room error that ends this member's stay, or undefined when
 * they may stay (the error is only said in the room). Join refusals are not
 * endings: check `JOIN_REFUSALS` first.
 */
export function endingFor(code: string, message: string, fatal: boolean): HTMLElement | undefined {
  if (code === 'kicked') return endScreen('You were removed', 'The host removed you from this watch party.');
  if (code === 'banned') return endScreen('You cannot join', 'The host removed you from this watch party.');
  if (code === 'movie_deleted') return endScreen('This party has ended', 'Its movie was removed from the catalog.');
  if (code === 'room_not_found') return roomNotFound();
  if (fatal) return endScreen('Could not join', `${message} (${code})`);
  return undefined;
}

/**
 * Shows the join form in `root`, filled with the previous answer (or the name
 * this browser last chose) and the reason the last attempt was refused.
 */
export function askName(root: HTMLElement, room: RoomSummary, previous: JoinAnswer | undefined, problem: string | undefined, join: (answer: JoinAnswer) => void): void {
  const name = h('input', {
    name: 'name',
    required: true,
    maxlength: MAX_NAME_CHARS,
    autocomplete: 'nickname',
    value: previous?.name ?? localStorage.getItem(NAME_KEY) ?? '',
  });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'join-form' },
    h('h1', {}, 'Join the watch party'),
    problem === undefined ? null : h('p', { class: 'notice error', role: 'alert' }, problem),
    h('label', {}, 'Your name ', name),
    room.has_password ? h('label', {}, 'Password ', password) : null,
    h('button', { type: 'submit' }, 'Join'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // The lobby's presence list goes online under this name (and is told now: `storage` fires only in other tabs).
    localStorage.setItem(NAME_KEY, name.value.trim());
    window.dispatchEvent(new Event(NAME_CHOSEN_EVENT));
    join({ name: name.value, password: room.has_password ? password.value : undefined });
  });
  mount(root, form);
  name.focus();
}
