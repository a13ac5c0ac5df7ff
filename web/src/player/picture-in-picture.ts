// Picture-in-picture: the video floats over other windows while the person
// does something else. It is the same element, so the room's clock goes on
// driving it and it stays in sync; the page's subtitles do not follow it
// (the browser draws only the picture).
import { h } from '../ui/dom';

export function pictureInPictureButton(video: HTMLVideoElement): HTMLButtonElement {
  const button = h('button', { type: 'button', 'aria-pressed': 'false', 'data-testid': 'picture-in-picture' }, 'Picture in picture');
  button.hidden = !document.pictureInPictureEnabled;
  const refresh = (): void => {
    const on = document.pictureInPictureElement === video;
    button.textContent = on ? 'Back to the page' : 'Picture in picture';
    button.setAttribute('aria-pressed', String(on));
  };
  button.addEventListener('click', () => {
    const done = document.pictureInPictureElement === video ? document.exitPictureInPicture() : video.requestPictureInPicture();
    done.then(refresh, (error: unknown) => {
      button.title = `Picture in picture failed: ${error instanceof Error ? error.message : String(error)}`;
    });
  });
  video.addEventListener('enterpictureinpicture', refresh);
  video.addEventListener('leavepictureinpicture', refresh);
  return button;
}
