// The live P2P panel: bytes per second from peers and from the server over
// the last minute (a chart), the share that came from peers so far, peers
// connected, and what this viewer uploaded to others.
import { formatBytes } from '../format';
import type { P2PStats } from '../p2p/types';
import type { PlayerHandle } from '../player/hls-player';
import { h } from '../ui/dom';

const SAMPLE_EVERY_MS = 1_000;
const SAMPLES = 60;
const COLORS = { peer: '#3ecf8e', http: '#9aa3b2' };

interface Sample {
  peer: number;
  http: number;
}

export class P2PPanel {
  readonly element: HTMLElement;
  readonly #canvas = h('canvas', { width: 300, height: 90, role: 'img', 'aria-label': 'Bytes per second from peers and from the server' });
  readonly #summary = h('p', { class: 'p2p-summary', 'data-testid': 'p2p-summary' }, 'Not playing yet');
  readonly #origin = h('p', { class: 'muted', 'data-testid': 'p2p-origin' });
  /** Video and audio apart, for a movie whose audio tracks are segments of their own. */
  readonly #kinds = h('p', { class: 'muted', 'data-testid': 'p2p-kinds' });
  readonly #originRate: () => number | undefined;
  readonly #samples: Sample[] = [];
  readonly #timer: ReturnType<typeof setInterval>;
  #last: P2PStats | undefined;

  /** `player` is the room's now (undefined before it starts);
   * `originRate`, what the server sends the room's HTTP fetches at (bytes/s). */
  constructor(player: () => PlayerHandle | undefined, originRate: () => number | undefined = () => undefined) {
    this.#originRate = originRate;
    this.element = h(
      'section',
      { class: 'p2p-panel', 'aria-label': 'Peer-to-peer' },
      h('h2', {}, 'Peer-to-peer'),
      this.#canvas,
      h('p', { class: 'legend muted' }, h('span', { class: 'swatch peer' }), 'from peers ', h('span', { class: 'swatch http' }), 'from the server'),
      this.#summary,
      this.#kinds,
      this.#origin,
    );
    this.#timer = setInterval(() => {
      const now = player();
      if (now !== undefined) this.#sample(now.engine.stats(), now.p2pUnavailable);
    }, SAMPLE_EVERY_MS);
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #sample(now: P2PStats, unavailable: string | undefined): void {
    const last = this.#last;
    this.#last = now;
    // A new player (a file stream ended, a reload) starts counting again.
    const fresh = last === undefined || now.httpBytes < last.httpBytes || now.peerBytes < last.peerBytes;
    this.#samples.push(fresh ? { peer: 0, http: 0 } : { peer: now.peerBytes - last.peerBytes, http: now.httpBytes - last.httpBytes });
    if (this.#samples.length > SAMPLES) this.#samples.shift();
    const connected = now.peers.filter((p) => p.state === 'open').length;
    const total = now.httpBytes + now.peerBytes;
    this.#summary.textContent =
      unavailable !== undefined
        ? `P2P unavailable: ${unavailable} · ${formatBytes(total)} from the server`
        : total === 0
        ? `Nothing downloaded yet · ${connected} peer${connected === 1 ? '' : 's'} connected`
        : `${Math.round(now.peerShare * 100)} % from peers (${formatBytes(now.peerBytes)} of ${formatBytes(total)}) · ` +
          `${connected} peer${connected === 1 ? '' : 's'} connected · uploaded ${formatBytes(now.uploadedBytes)}`;
    this.#kinds.textContent = describeKinds(now);
    const rate = this.#originRate();
    this.#origin.textContent = rate === undefined ? '' : `The server sends this room ${((rate * 8) / 1e6).toFixed(1)} Mbit/s`;
    this.#draw();
  }

  #draw(): void {
    const context = this.#canvas.getContext('2d');
    if (context === null) return;
    const { width, height } = this.#canvas;
    context.clearRect(0, 0, width, height);
    const top = Math.max(1, ...this.#samples.map((s) => s.peer + s.http));
    const step = width / (SAMPLES - 1);
    const offset = SAMPLES - this.#samples.length;
    // Stacked: peers at the bottom, the server's bytes on top of them.
    const area = (value: (s: Sample) => number, base: (s: Sample) => number, color: string): void => {
      context.beginPath();
      this.#samples.forEach((s, i) => context.lineTo((offset + i) * step, height - (value(s) / top) * height));
      for (let i = this.#samples.length - 1; i >= 0; i -= 1) {
        const s = this.#samples[i] as Sample;
        context.lineTo((offset + i) * step, height - (base(s) / top) * height);
      }
      context.closePath();
      context.fillStyle = color;
      context.fill();
    };
    area((s) => s.peer + s.http, (s) => s.peer, COLORS.http);
    area((s) => s.peer, () => 0, COLORS.peer);
  }
}

/** "Video 80 % from peers (4.1 MB) · audio 60 % from peers (310.0 KB)"; empty without audio tracks of their own. */
export function describeKinds(stats: Pick<P2PStats, 'httpBytes' | 'peerBytes' | 'audioHttpBytes' | 'audioPeerBytes'>): string {
  const audio = stats.audioHttpBytes + stats.audioPeerBytes;
  if (audio === 0) return '';
  const part = (name: string, peer: number, total: number): string =>
    `${name} ${total === 0 ? 0 : Math.round((peer / total) * 100)} % from peers (${formatBytes(total)})`;
  const videoPeer = stats.peerBytes - stats.audioPeerBytes;
  const video = stats.httpBytes + stats.peerBytes - audio;
  return `${part('Video', videoPeer, video)} · ${part('audio', stats.audioPeerBytes, audio)}`;
}
