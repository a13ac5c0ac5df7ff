// The room's chat: history, one's own messages apart from others', system
// notices, reactions, who is typing, and an unread marker. Messages that
// arrive while the reader is scrolled up (or away from the tab) are counted
// on a "new messages" button, and a line marks where they start.
import type { ChatMessage } from '../protocol/ChatMessage';
import { MAX_CHAT_CHARS } from '../protocol/limits';
import type { Reaction } from '../protocol/Reaction';
import { h } from '../ui/dom';

const QUICK_REACTIONS = ['👍', '😂', '🍿'];
/** Typing is said once when it starts, and once 3 s after the last key. */
const TYPING_IDLE_MS = 3_000;
/** Within this many pixels of the bottom counts as reading the newest. */
const AT_BOTTOM_PX = 24;

export interface ChatActions {
  say: (text: string) => void;
  react: (message: number, emoji: string) => void;
  typing: (active: boolean) => void;
}

export class ChatPanel {
  readonly element: HTMLElement;
  readonly #list = h('ol', { class: 'chat', 'aria-live': 'polite', 'aria-label': 'Chat history', tabindex: 0 });
  readonly #input = h('input', { maxlength: MAX_CHAT_CHARS, placeholder: 'Say something', 'aria-label': 'Message' });
  readonly #typingLine = h('p', { class: 'muted typing', 'aria-live': 'polite' });
  readonly #unreadButton = h('button', { type: 'button', class: 'unread', hidden: true });
  readonly #actions: ChatActions;
  /** The name this member writes under (their messages are shown as their own). */
  #myName = '';
  #unread = 0;
  #marker: HTMLElement | undefined;
  #typingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(actions: ChatActions) {
    this.#actions = actions;
    const form = h('form', { class: 'chat-form' }, this.#input, h('button', { type: 'submit' }, 'Send'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const text = this.#input.value.trim();
      if (text === '') return;
      this.#stopTyping();
      actions.say(text);
      this.#input.value = '';
      this.#scrollToEnd();
    });
    this.#input.addEventListener('input', () => {
      if (this.#typingTimer === undefined) actions.typing(true);
      clearTimeout(this.#typingTimer);
      this.#typingTimer = setTimeout(() => this.#stopTyping(), TYPING_IDLE_MS);
    });
    this.#list.addEventListener('scroll', () => {
      if (this.#atBottom()) this.#markRead();
    });
    this.#unreadButton.addEventListener('click', () => this.#scrollToEnd());
    document.addEventListener('visibilitychange', this.#onVisibility);
    this.element = h('section', { class: 'chat-panel', 'aria-label': 'Chat' }, h('h2', {}, 'Chat'), this.#list, this.#unreadButton, this.#typingLine, form);
  }

  setMyName(name: string): void {
    this.#myName = name;
  }

  add(message: ChatMessage): void {
    if (this.#list.querySelector(`[data-id="${message.id}"]`) !== null) return;
    const follow = this.#atBottom() && document.visibilityState === 'visible';
    const own = message.kind === 'user' && message.name === this.#myName;
    if (!follow && !own) {
      if (this.#unread === 0) {
        // A new batch of unread messages: the marker moves to where it starts.
        this.#marker?.remove();
        this.#marker = h('li', { class: 'unread-marker', 'aria-hidden': 'true' }, 'New');
        this.#list.append(this.#marker);
      }
      this.#unread += 1;
    }
    // History can arrive after newer messages (a welcome after a live one): keep id order.
    const later = [...this.#list.querySelectorAll<HTMLElement>('[data-id]')].find((li) => Number(li.dataset.id) > message.id);
    this.#list.insertBefore(this.#item(message, own), later ?? null);
    this.#showReactions(message.id, message.reactions);
    if (follow || own) this.#scrollToEnd();
    this.#renderUnread();
  }

  reactions(message: number, reactions: Reaction[]): void {
    this.#showReactions(message, reactions);
  }

  /** Names of the members typing now (others). */
  typing(names: string[]): void {
    this.#typingLine.textContent = names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
  }

  close(): void {
    clearTimeout(this.#typingTimer);
    document.removeEventListener('visibilitychange', this.#onVisibility);
  }

  readonly #onVisibility = (): void => {
    if (document.visibilityState === 'visible' && this.#atBottom()) this.#markRead();
  };

  #item(message: ChatMessage, own: boolean): HTMLElement {
    if (message.kind === 'system') return h('li', { class: 'system', 'data-id': message.id }, message.text);
    const buttons = QUICK_REACTIONS.map((emoji) =>
      h('button', { type: 'button', class: 'react', 'aria-label': `React ${emoji}`, onclick: () => this.#actions.react(message.id, emoji) }, emoji),
    );
    return h(
      'li',
      { class: own ? 'user own' : 'user', 'data-id': message.id },
      h('span', { class: 'author' }, own ? 'You' : message.name),
      h('span', { class: 'text' }, message.text),
      h('span', { class: 'reactions' }),
      ...buttons,
    );
  }

  #showReactions(message: number, reactions: Reaction[]): void {
    const slot = this.#list.querySelector(`[data-id="${message}"] .reactions`);
    slot?.replaceChildren(...reactions.map((r) => h('span', { class: 'reaction' }, `${r.emoji} ${r.members.length}`)));
  }

  #atBottom(): boolean {
    const list = this.#list;
    return list.scrollHeight - list.scrollTop - list.clientHeight <= AT_BOTTOM_PX;
  }

  #scrollToEnd(): void {
    this.#list.scrollTop = this.#list.scrollHeight;
    this.#markRead();
  }

  #markRead(): void {
    if (this.#unread === 0) return;
    this.#unread = 0;
    // The marker stays where the unread messages began until the next batch.
    this.#renderUnread();
  }

  #renderUnread(): void {
    this.#unreadButton.hidden = this.#unread === 0;
    this.#unreadButton.textContent = `${this.#unread} new message${this.#unread === 1 ? '' : 's'} ↓`;
  }

  #stopTyping(): void {
    if (this.#typingTimer === undefined) return;
    clearTimeout(this.#typingTimer);
    this.#typingTimer = undefined;
    this.#actions.typing(false);
  }
}
