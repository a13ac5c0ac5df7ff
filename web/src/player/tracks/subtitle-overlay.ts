// Subtitles drawn by the page over the video, not by the browser's own
// <track> rendering: they then stay in the page's fullscreen (with the chat
// beside them), take the viewer's size, background and timing offset, and
// look alike in every browser. Cues are checked on every animation frame
// while the video plays, so one shows within a frame of its time.
import { h } from '../../ui/dom';
import type { SubtitleBackground, SubtitleSize } from './track-preferences';
import { type Cue, type CueNode, cuesAt } from './webvtt';

export class SubtitleOverlay {
  readonly element: HTMLElement;
  readonly #video: HTMLVideoElement;
  readonly #bottom = h('div', { class: 'subtitle-lines bottom' });
  readonly #top = h('div', { class: 'subtitle-lines top' });
  #cues: readonly Cue[] = [];
  #offsetSecs = 0;
  #showing: readonly Cue[] = [];
  #frame = 0;
  readonly #onChange = (): void => this.#refresh();
  readonly #onPlay = (): void => this.#loop();

  constructor(video: HTMLVideoElement) {
    this.#video = video;
    this.element = h('div', { class: 'subtitle-overlay', 'data-testid': 'subtitles' }, this.#top, this.#bottom);
    for (const event of ['seeked', 'timeupdate', 'pause', 'emptied']) video.addEventListener(event, this.#onChange);
    video.addEventListener('play', this.#onPlay);
    this.setStyle('medium', 'shadow');
    if (!video.paused) this.#loop();
  }

  /** The cues to draw; none: subtitles off. */
  show(cues: readonly Cue[]): void {
    this.#cues = cues;
    this.#refresh();
  }

  /** Positive: every cue shows later by this much, s. */
  setOffset(secs: number): void {
    this.#offsetSecs = secs;
    this.#refresh();
  }

  setStyle(size: SubtitleSize, background: SubtitleBackground): void {
    this.element.dataset.size = size;
    this.element.dataset.background = background;
  }

  /** The text showing now, line breaks as `\n` (for the tests and the screen reader's sake). */
  text(): string {
    return this.#showing.map((cue) => textOf(cue.nodes)).join('\n');
  }

  destroy(): void {
    cancelAnimationFrame(this.#frame);
    for (const event of ['seeked', 'timeupdate', 'pause', 'emptied']) this.#video.removeEventListener(event, this.#onChange);
    this.#video.removeEventListener('play', this.#onPlay);
    this.element.remove();
  }

  #loop(): void {
    cancelAnimationFrame(this.#frame);
    const tick = (): void => {
      this.#refresh();
      if (!this.#video.paused) this.#frame = requestAnimationFrame(tick);
    };
    tick();
  }

  #refresh(): void {
    const showing = this.#cues.length === 0 ? [] : cuesAt(this.#cues, this.#video.currentTime - this.#offsetSecs);
    if (showing.length === this.#showing.length && showing.every((cue, i) => cue === this.#showing[i])) return;
    this.#showing = showing;
    this.#top.replaceChildren(...showing.filter((c) => c.top).map(render));
    this.#bottom.replaceChildren(...showing.filter((c) => !c.top).map(render));
  }
}

function render(cue: Cue): HTMLElement {
  return h('div', { class: 'subtitle-cue' }, ...cue.nodes.flatMap(renderNode));
}

function renderNode(node: CueNode): Node[] {
  if ('text' in node) {
    // Line breaks become <br>: the text itself only ever goes in as text.
    return node.text.split('\n').flatMap((line, i) => (i === 0 ? [document.createTextNode(line)] : [document.createElement('br'), document.createTextNode(line)]));
  }
  const element = document.createElement(node.style);
  element.append(...node.children.flatMap(renderNode));
  return [element];
}

function textOf(nodes: readonly CueNode[]): string {
  return nodes.map((node) => ('text' in node ? node.text : textOf(node.children))).join('');
}
