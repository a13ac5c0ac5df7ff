// Who is in the room: names with host and co-host badges, each member's sync
// offset or buffering, what they stream, and the bytes their player shared
// with peers. The host also gets who-controls-playback and, per member, a
// menu: make co-host (or not), hand the room over, remove from the room (a
// ban: name and address barred until the host lets them back in, from the
// "Removed" list below).
import { formatBytes } from '../format';
import { describeTracks } from '../player/tracks/describe-tracks';
import type { BanView } from '../protocol/BanView';
import type { ControlPolicy } from '../protocol/ControlPolicy';
import type { MemberHealth } from '../protocol/MemberHealth';
import type { MemberView } from '../protocol/MemberView';
import type { RoomClientMessage } from '../protocol/RoomClientMessage';
import type { StreamKind } from '../protocol/StreamKind';
import { h } from '../ui/dom';

const BADGES = { host: 'Host', cohost: 'Co-host', member: '' } as const;
const STREAMS: Record<StreamKind, string> = { camera: 'camera', microphone: 'mic', screen: 'screen', file: 'file' };
const POLICIES: [ControlPolicy, string][] = [
  ['host_only', 'Only the host'],
  ['cohosts', 'Host and co-hosts'],
  ['everyone', 'Everyone'],
];

export class MembersPanel {
  readonly element: HTMLElement;
  readonly #list = h('ul', { class: 'members' });
  readonly #banned = h('ul', { class: 'bans' });
  readonly #bansRow = h('div', { class: 'bans-row' }, h('h3', {}, 'Removed'), this.#banned);
  readonly #policy = h('select', { 'aria-label': 'Who controls playback' });
  readonly #policyRow = h('label', { class: 'policy' }, 'Playback: ', this.#policy);
  readonly #send: (message: RoomClientMessage) => void;
  #members: MemberView[] = [];
  #me = '';
  #health = new Map<string, MemberHealth>();
  /** The member whose actions menu the host has open. */
  #openMenu: string | undefined;

  constructor(send: (message: RoomClientMessage) => void) {
    this.#send = send;
    for (const [value, label] of POLICIES) this.#policy.append(h('option', { value }, label));
    this.#policy.addEventListener('change', () => send({ type: 'set_policy', policy: this.#policy.value as ControlPolicy }));
    this.#bansRow.hidden = true;
    this.element = h('section', { class: 'members-panel', 'aria-label': 'People' }, h('h2', {}, 'People'), this.#policyRow, this.#list, this.#bansRow);
  }

  /** The room's bans, which only the host receives: each can be lifted. */
  bans(bans: BanView[]): void {
    this.#bansRow.hidden = bans.length === 0;
    this.#banned.replaceChildren(
      ...bans.map((ban) => {
        const until = ban.until_ms === undefined ? '' : ` until ${new Date(ban.until_ms).toLocaleTimeString()}`;
        return h(
          'li',
          { 'data-ban': ban.id },
          `${ban.name}${ban.address ? ' (and their address)' : ''}${until} `,
          h('button', { type: 'button', onclick: () => this.#send({ type: 'unban', ban: ban.id }) }, 'Let back in'),
        );
      }),
    );
  }

  update(me: string, members: MemberView[], policy: ControlPolicy): void {
    this.#me = me;
    this.#members = members;
    this.#policy.value = policy;
    this.#render();
  }

  health(members: MemberHealth[]): void {
    this.#health = new Map(members.map((m) => [m.id, m]));
    this.#render();
  }

  #render(): void {
    // Which menu is open is read from the page itself, not from `toggle`
    // events: those arrive a task later, and a redraw in between (a health
    // update) would close a menu the host has just opened.
    this.#openMenu = this.#list.querySelector<HTMLDetailsElement>('details.member-menu[open]')?.dataset.member;
    const iAmHost = this.#members.find((m) => m.id === this.#me)?.role === 'host';
    this.#policyRow.hidden = !iAmHost;
    this.#list.replaceChildren(...this.#members.map((m) => this.#item(m, iAmHost)));
  }

  #item(member: MemberView, iAmHost: boolean): HTMLElement {
    const details: string[] = [];
    const health = this.#health.get(member.id);
    if (!member.online) details.push('reconnecting');
    else if (health?.buffering === true) details.push('buffering');
    else if (health?.offset_ms !== undefined) details.push(`${health.offset_ms >= 0 ? '+' : ''}${Math.round(health.offset_ms)} ms`);
    if (member.in_call) details.push('in the call');
    if (member.streaming.length > 0) details.push(member.streaming.map((k) => STREAMS[k]).join(' + '));
    const tracks = describeTracks(member.tracks);
    if (tracks !== '') details.push(tracks);
    if (health?.shared_bytes !== undefined && health.shared_bytes > 0) details.push(`shared ${formatBytes(health.shared_bytes)}`);
    const badge = BADGES[member.role];
    return h(
      'li',
      { class: member.online ? 'member' : 'member offline', 'data-member': member.id },
      h('span', { class: 'name' }, member.name),
      badge === '' ? null : h('span', { class: `badge ${member.role}` }, badge),
      member.id === this.#me ? h('span', { class: 'badge you' }, 'you') : null,
      h('span', { class: 'muted details' }, details.join(' · ')),
      iAmHost && member.id !== this.#me ? this.#menu(member) : null,
    );
  }

  /** The host's actions on one member. */
  #menu(member: MemberView): HTMLElement {
    const action = (label: string, message: RoomClientMessage, confirmText?: string): HTMLElement =>
      h('button', {
        type: 'button',
        onclick: (event: Event) => {
          (event.currentTarget as HTMLElement).closest('details')?.removeAttribute('open');
          if (confirmText === undefined || confirm(confirmText)) this.#send(message);
        },
      }, label);
    const cohost = member.role === 'cohost';
    // The list is drawn anew on every roster or health update (every few
    // seconds): the open menu stays open across it, or it would close under
    // the host's pointer.
    return h(
      'details',
      { class: 'member-menu', 'data-member': member.id, open: this.#openMenu === member.id },
      h('summary', { 'aria-label': `Actions for ${member.name}` }, '⋯'),
      h(
        'div',
        { class: 'menu' },
        action(cohost ? 'Remove co-host' : 'Make co-host', { type: 'set_cohost', member: member.id, cohost: !cohost }),
        action('Make host', { type: 'hand_over', member: member.id }, `Hand the room over to ${member.name}? You become a co-host.`),
        action(
          'Remove from room',
          { type: 'kick', member: member.id },
          `Remove ${member.name} from the room? They cannot come back (by name or from their address) until you let them back in.`,
        ),
      ),
    );
  }
}
