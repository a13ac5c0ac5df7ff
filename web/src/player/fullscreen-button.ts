// The page's own fullscreen: `target` (the player, or the player with the
// chat beside it) fills the screen. The video's built-in fullscreen shows the
// video alone, without the page's subtitles or the chat, so pages turn it off.
import { h } from '../ui/dom';

export function fullscreenButton(target: HTMLElement): HTMLButtonElement {
  const button = h('button', { type: 'button', 'aria-pressed': 'false', 'data-testid': 'fullscreen' }, 'Fullscreen');
  button.hidden = !document.fullscreenEnabled;
  const refresh = (): void => {
    const on = document.fullscreenElement === target;
    button.textContent = on ? 'Exit fullscreen' : 'Fullscreen';
    button.setAttribute('aria-pressed', String(on));
  };
  button.addEventListener('click', () => {
    const done = document.fullscreenElement === target ? document.exitFullscreen() : target.requestFullscreen();
    done.catch(() => {});
  });
  target.addEventListener('fullscreenchange', refresh);
  return button;
}
