// Who is online, on every page once the user has a name: each person and
// the room they are in; in a room, an "Invite" button next to people who
// are elsewhere; an invitation prompt (join or decline); and the answers to
// invitations this user sent.
import { h, mount } from '../ui/dom';
import { webSocketUrl } from '../player/hls-player';
import type { UserView } from '../protocol/UserView';
import { LobbyClient } from './lobby-client';

export const NAME_KEY = 'cinemesh.name';
/** Dispatched on `window` when this tab saves a name (`storage` fires only in other tabs). */
export const NAME_CHOSEN_EVENT = 'cinemesh:name';

export interface PresencePanel {
  /** The page changed: the room it shows (undefined: not a room). */
  setRoom(room: string | undefined): void;
  /** The room welcomed this page: others in it may now see it there. */
  enterRoom(room: string, pass: string): void;
}

/** Mounts the panel into `slot`; it connects once a name is known. */
export function startPresence(slot: HTMLElement, navigate: (href: string) => void): PresencePanel {
  let client: LobbyClient | undefined;
  let room: string | undefined;
  const list = h('ul', { class: 'online' });
  const prompts = h('div', { class: 'invitations', 'aria-live': 'polite' });
  const names = new Map<string, string>();
  const render = (users: UserView[], you: string): void => {
    for (const user of users) names.set(user.id, user.name);
    list.replaceChildren(
      ...users.map((user) => {
        // The server names a room only to people in it: others just see "in a room".
        const where = user.room !== undefined && user.room !== null && user.room === room ? 'in this room' : user.in_room ? 'in a room' : 'browsing';
        const invite =
          room !== undefined && user.id !== you && user.room !== room
            ? h('button', { type: 'button', class: 'invite', onclick: () => client?.invite(user.id) }, 'Invite')
            : null;
        return h('li', { 'data-user': user.id }, `${user.name}${user.id === you ? ' (you)' : ''} · ${where} `, invite);
      }),
    );
  };
  const connect = (): void => {
    const name = localStorage.getItem(NAME_KEY)?.trim();
    if (client !== undefined || name === undefined || name === '') return;
    client = new LobbyClient(webSocketUrl('/api/lobby/socket'), name, room, {
      onUsers: render,
      onInvited: (invitation, from, to) => {
        const answer = (accept: boolean): void => {
          client?.answer(invitation, accept);
          prompt.remove();
          if (accept) navigate(`/rooms/${to}`);
        };
        const prompt = h(
          'div',
          { class: 'invitation', role: 'alertdialog', 'aria-label': `Invitation from ${from.name}` },
          `${from.name} invites you to a watch party `,
          h('button', { type: 'button', onclick: () => answer(true) }, 'Join'),
          h('button', { type: 'button', onclick: () => answer(false) }, 'Decline'),
        );
        prompts.append(prompt);
      },
      onAnswered: (_invitation, by, accepted) => {
        const who = names.get(by) ?? 'Someone';
        const note = h('p', { class: 'muted' }, `${who} ${accepted ? 'is coming' : 'declined'}`);
        prompts.append(note);
        setTimeout(() => note.remove(), 8_000);
      },
      onError: (_code, message) => {
        const note = h('p', { class: 'error' }, message);
        prompts.append(note);
        setTimeout(() => note.remove(), 8_000);
      },
    });
  };
  // The prompts sit outside the collapsible list: an invitation shows even while it is closed.
  mount(slot, h('details', { class: 'presence' }, h('summary', {}, 'Online'), list), prompts);
  connect();
  window.addEventListener('storage', connect);
  window.addEventListener(NAME_CHOSEN_EVENT, connect);
  return {
    setRoom(next) {
      room = next;
      connect();
      client?.setRoom(next);
      if (client !== undefined) render(client.users, client.you);
    },
    enterRoom(next, pass) {
      room = next;
      connect();
      client?.setRoom(next, pass);
    },
  };
}
