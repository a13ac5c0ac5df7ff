// In the room's fullscreen the picture fills the screen and the chat and the
// call's tiles lie over it, each shown or hidden by a button of the control
// bar (on a phone or a TV they cover the picture, so people want them out of
// the way at times). The buttons show only in fullscreen (styles.css); the
// choice lasts until the page is left.
import { h } from '../ui/dom';

export function overlayToggles(room: HTMLElement): HTMLButtonElement[] {
  const toggle = (label: string, hiddenClass: string): HTMLButtonElement => {
    const button = h('button', { type: 'button', class: 'overlay-toggle', 'aria-pressed': 'true', title: `Show or hide the ${label.toLowerCase()} over the picture` }, label);
    button.addEventListener('click', () => {
      const hidden = room.classList.toggle(hiddenClass);
      button.setAttribute('aria-pressed', String(!hidden));
    });
    return button;
  };
  return [toggle('Chat', 'hide-chat'), toggle('Call', 'hide-call')];
}
