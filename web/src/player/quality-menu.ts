// The quality menu: Auto, or one of the movie's renditions, best first. What
// Auto means is the page's: hls.js's own choice on the movie page, the
// room's rendition in a room.
import type Hls from 'hls.js';

import { h } from '../ui/dom';

export class QualityMenu {
  readonly select = h('select', { 'aria-label': 'Quality', 'data-testid': 'quality-menu' }, h('option', { value: '-1' }, 'Auto'));
  readonly element = h('label', {}, 'Quality ', this.select);

  /** `choose` gets an hls.js level index, or -1 for Auto. */
  constructor(choose: (level: number) => void) {
    this.select.addEventListener('change', () => choose(Number(this.select.value)));
  }

  /** Lists the renditions of a (new) player; undefined: the browser plays HLS itself and picks them. */
  bind(hls: Hls | undefined, HlsPlayer: typeof Hls): void {
    const chosen = this.select.value;
    this.select.replaceChildren(h('option', { value: '-1' }, 'Auto'));
    this.select.disabled = hls === undefined;
    this.select.title = hls === undefined ? 'This browser plays HLS itself and picks the quality' : '';
    hls?.on(HlsPlayer.Events.MANIFEST_PARSED, (_event, data) => {
      // Best first, as people expect; the value stays hls.js's level index.
      const levels = [...data.levels.entries()].sort(([, a], [, b]) => b.height - a.height);
      for (const [index, level] of levels) this.select.append(h('option', { value: String(index) }, `${level.height}p`));
      this.select.value = chosen;
      if (this.select.value === '') this.select.value = '-1';
    });
  }
}
