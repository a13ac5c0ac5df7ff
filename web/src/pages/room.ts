// A watch party: ask for a name (and the password when the room has one),
// join the room's socket, and play the movie on the room's clock with the
// P2P loader. Playback controls go to the room, never straight to the video,
// so everyone moves together; controls this member may not use are disabled
// with the reason. Chat and the member list sit beside the player.
import type { MovieDetail, RoomSummary, SegmentManifest } from '../api/types';
import { formatDuration } from '../format';
import type { ChatMessage } from '../protocol/ChatMessage';
import type { ControlPolicy } from '../protocol/ControlPolicy';
import type { MemberHealth } from '../protocol/MemberHealth';
import type { MemberView } from '../protocol/MemberView';
import type { Reaction } from '../protocol/Reaction';
import { RoomClient } from '../rooms/room-client';
import { SyncController } from '../rooms/sync-controller';
import { createPlayer, type PlayerHandle, webSocketUrl } from '../player/hls-player';
import { loadPreferences } from '../player/preferences';
import { h, mount } from '../ui/dom';
import { errorBox } from './catalog';
import { NAME_CHOSEN_EVENT, NAME_KEY } from '../lobby/presence-panel';
import type { Cleanup, PageContext } from './page';

declare global {
  interface Window {
    /** The page's room, sync and player, for debugging from the console (and for the browser tests). */
    cinemeshRoom?: { room: RoomClient; sync: SyncController; player: PlayerHandle | undefined } | undefined;
  }
}


export function renderRoom(root: HTMLElement, id: string, ctx: PageContext): Cleanup {
  const abort = new AbortController();
  let leave: Cleanup = () => {};
  mount(root, h('p', { class: 'muted' }, 'Loading…'));
  void (async () => {
    let room: RoomSummary;
    try {
      room = await ctx.api.getRoom(id, abort.signal);
    } catch (error) {
      if (!abort.signal.aborted) mount(root, errorBox(error));
      return;
    }
    if (abort.signal.aborted) return;
    askName(root, room, (name, password) => {
      leave = enterRoom(root, room, name, password, ctx);
    });
  })();
  return () => {
    abort.abort();
    leave();
  };
}

function askName(root: HTMLElement, room: RoomSummary, join: (name: string, password: string | undefined) => void): void {
  const name = h('input', { name: 'name', required: true, maxlength: 32, autocomplete: 'nickname', value: localStorage.getItem(NAME_KEY) ?? '' });
  const password = h('input', { name: 'password', type: 'password', required: true, autocomplete: 'off' });
  const form = h(
    'form',
    { class: 'join-form' },
    h('h1', {}, 'Join the watch party'),
    h('label', {}, 'Your name ', name),
    room.has_password ? h('label', {}, 'Password ', password) : null,
    h('button', { type: 'submit' }, 'Join'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    localStorage.setItem(NAME_KEY, name.value.trim());
    window.dispatchEvent(new Event(NAME_CHOSEN_EVENT));
    join(name.value, room.has_password ? password.value : undefined);
  });
  mount(root, form);
  name.focus();
}

function enterRoom(root: HTMLElement, summary: RoomSummary, name: string, password: string | undefined, ctx: PageContext): Cleanup {
  const video = h('video', { playsinline: true, muted: true });
  const playButton = h('button', { type: 'button', 'data-testid': 'play' }, 'Play');
  const seekBar = h('input', { type: 'range', min: 0, max: 1000, value: 0, 'aria-label': 'Position' });
  const clock = h('span', { class: 'muted' }, '0:00');
  const why = h('span', { class: 'muted control-reason' });
  const status = h('span', { class: 'muted', 'aria-live': 'polite' });
  const chatList = h('ol', { class: 'chat', 'aria-live': 'polite' });
  const chatInput = h('input', { maxlength: 500, placeholder: 'Say something', 'aria-label': 'Message' });
  const chatForm = h('form', { class: 'chat-form' }, chatInput, h('button', { type: 'submit' }, 'Send'));
  const typingLine = h('p', { class: 'muted typing', 'aria-live': 'polite' });
  const typing = new Set<string>();
  const memberList = h('ul', { class: 'members' });
  const invite = `${location.origin}${summary.invite_path}`;
  mount(
    root,
    h('div', { class: 'room' },
      h('section', { class: 'room-main' },
        h('div', { class: 'player' }, video),
        h('div', { class: 'player-bar' }, playButton, seekBar, clock, why, status),
        h('p', { class: 'muted' }, 'Invite: ', h('code', { 'data-testid': 'invite' }, invite)),
      ),
      h('aside', { class: 'room-side' }, h('h2', {}, 'People'), memberList, h('h2', {}, 'Chat'), chatList, typingLine, chatForm),
    ),
  );

  let movie: MovieDetail | undefined;
  let health = new Map<string, MemberHealth>();
  let player: PlayerHandle | undefined;
  let fetchPlan: string[] = [];
  const durationMs = (): number => movie?.duration_ms ?? 0;
  const room = new RoomClient(webSocketUrl(summary.socket_path), name, password, {
    onWelcome: () => {
      status.textContent = '';
      void startPlayer();
    },
    onPlayback: () => {
      sync.stateChanged();
      refreshControls();
    },
    onMembers: (members, policy) => {
      renderMembers(memberList, members, room.member, health);
      refreshControls(policy);
    },
    onFetchPlan: (slots) => {
      fetchPlan = slots;
      player?.engine.setFetchPlan(slots, room.member);
    },
    onHealth: (members) => {
      health = new Map(members.map((m) => [m.id, m]));
      renderMembers(memberList, room.members, room.member, health);
    },
    onChat: (message) => appendChat(chatList, message, react),
    onReactions: (message, reactions) => showReactions(chatList, message, reactions),
    onTyping: (member, active) => {
      if (active) typing.add(member);
      else typing.delete(member);
      const names = room.members.filter((m) => typing.has(m.id)).map((m) => m.name);
      typingLine.textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
    },
    onError: (code, message, fatal) => {
      if (fatal) mount(root, errorBox(new Error(message)), h('p', { class: 'muted' }, `(${code})`));
      else status.textContent = message;
    },
    onReconnecting: (reconnecting) => {
      status.textContent = reconnecting ? 'Connection lost; reconnecting…' : '';
    },
  });
  const sync = new SyncController(video, room);
  window.cinemeshRoom = { room, sync, player: undefined };

  async function startPlayer(): Promise<void> {
    if (player !== undefined) return;
    const movieId = summary.movie_id;
    let manifest: SegmentManifest;
    [movie, manifest] = await Promise.all([ctx.api.getMovie(movieId), ctx.api.getSegmentManifest(movieId)]);
    const { default: HlsPlayer } = await import('hls.js');
    const position = (room.roomPosition() ?? 0) / 1000;
    const preferences = loadPreferences();
    player = createPlayer(HlsPlayer, video, movie, manifest, preferences, position);
    player.engine.setFetchPlan(fetchPlan, room.member);
    // Sharing members split the room's HTTP fetching (the room answers with its plan).
    room.share(preferences.p2p && preferences.upload, preferences.uploadBytesPerSec);
    window.cinemeshRoom = { room, sync, player };
    for (const message of room.chat) appendChat(chatList, message, react);
  }

  function mayControl(policy: ControlPolicy = room.policy): string | undefined {
    const me = room.members.find((m) => m.id === room.member);
    if (me === undefined) return 'not in the room';
    if (policy === 'everyone' || me.role === 'host') return undefined;
    if (policy === 'cohosts' && me.role === 'cohost') return undefined;
    return policy === 'cohosts' ? 'Only the host and co-hosts control playback' : 'Only the host controls playback';
  }

  function refreshControls(policy?: ControlPolicy): void {
    const reason = mayControl(policy);
    playButton.disabled = seekBar.disabled = reason !== undefined;
    why.textContent = reason ?? '';
    playButton.textContent = room.playback?.playing === true ? 'Pause' : 'Play';
  }

  playButton.addEventListener('click', () => {
    const position_ms = room.roomPosition() ?? 0;
    room.control(room.playback?.playing === true ? { action: 'pause', position_ms } : { action: 'play', position_ms });
  });
  seekBar.addEventListener('change', () => {
    room.control({ action: 'seek', position_ms: (Number(seekBar.value) / 1000) * durationMs() });
  });
  const react = (message: number, emoji: string): void => room.send({ type: 'react', message, emoji });
  // Typing is said once when it starts and once when it stops (3 s without a key).
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  const stopTyping = (): void => {
    if (typingTimer === undefined) return;
    clearTimeout(typingTimer);
    typingTimer = undefined;
    room.send({ type: 'typing', active: false });
  };
  chatInput.addEventListener('input', () => {
    if (typingTimer === undefined) room.send({ type: 'typing', active: true });
    clearTimeout(typingTimer);
    typingTimer = setTimeout(stopTyping, 3_000);
  });
  chatForm.addEventListener('submit', (event) => {
    event.preventDefault();
    if (chatInput.value.trim() === '') return;
    stopTyping();
    room.say(chatInput.value);
    chatInput.value = '';
  });
  const display = setInterval(() => {
    const position = room.roomPosition() ?? 0;
    clock.textContent = `${formatDuration(position)} / ${formatDuration(durationMs())}`;
    if (document.activeElement !== seekBar && durationMs() > 0) seekBar.value = String(Math.round((position / durationMs()) * 1000));
  }, 500);

  return () => {
    clearInterval(display);
    sync.stop();
    room.leave();
    player?.destroy();
    window.cinemeshRoom = undefined;
  };
}

function renderMembers(list: HTMLElement, members: MemberView[], me: string, health: Map<string, MemberHealth>): void {
  const badge = { host: ' (host)', cohost: ' (co-host)', member: '' } as const;
  const sync = (id: string): string => {
    const h = health.get(id);
    if (h === undefined) return '';
    if (h.buffering) return ' · buffering';
    return h.offset_ms === undefined ? '' : ` · ${h.offset_ms >= 0 ? '+' : ''}${Math.round(h.offset_ms)} ms`;
  };
  const streaming = (m: MemberView): string => (m.streaming.length === 0 ? '' : ` · streaming ${m.streaming.join(', ')}`);
  list.replaceChildren(
    ...members.map((m) =>
      h(
        'li',
        { class: m.online ? '' : 'offline' },
        `${m.name}${badge[m.role]}${m.id === me ? ' · you' : ''}${m.online ? sync(m.id) : ' · reconnecting'}${streaming(m)}`,
      ),
    ),
  );
}

const QUICK_REACTIONS = ['👍', '😂', '🍿'];

function appendChat(list: HTMLElement, message: ChatMessage, react: (message: number, emoji: string) => void): void {
  if (list.querySelector(`[data-id="${message.id}"]`) !== null) return;
  if (message.kind === 'system') {
    list.append(h('li', { class: 'system', 'data-id': message.id }, message.text));
  } else {
    const buttons = QUICK_REACTIONS.map((emoji) =>
      h('button', { type: 'button', class: 'react', 'aria-label': `React ${emoji}`, onclick: () => react(message.id, emoji) }, emoji),
    );
    list.append(
      h('li', { class: 'user', 'data-id': message.id }, h('span', { class: 'text' }, `${message.name}: ${message.text}`), h('span', { class: 'reactions' }), ...buttons),
    );
    showReactions(list, message.id, message.reactions);
  }
  list.scrollTop = list.scrollHeight;
}

function showReactions(list: HTMLElement, message: number, reactions: Reaction[]): void {
  const slot = list.querySelector(`[data-id="${message}"] .reactions`);
  slot?.replaceChildren(...reactions.map((r) => h('span', { class: 'reaction' }, `${r.emoji} ${r.members.length}`)));
}
