// One WebRTC connection to another viewer, signalled through the tracker
// (trickle ICE). Either side may start it, and both may start at once: the
// "perfect negotiation" pattern settles that, the side with the greater peer
// id being polite (it yields its own offer). The data channel is negotiated
// (id 0 on both sides), so it exists whoever offered.
//
// A path that breaks (a home's router renumbered) is looked for again with an
// ICE restart a second after ICE says `disconnected`; a link still without
// one after RECOVERY_MS is closed, and its loads go to HTTP, rather than
// waiting the half minute the browser takes to say `failed`.
import type { IcePair } from '../protocol/IcePair';
import type { Signal } from '../protocol/Signal';
import { reportPairOnConnect } from '../webrtc/ice-pair';
import { PATH_LOSS_GRACE_MS } from '../webrtc/path-loss';

/** How long a link that lost its path has to find another before it is closed, ms. */
const RECOVERY_MS = 10_000;

export interface PeerConnectionOptions {
  localId: string;
  remoteId: string;
  iceServers: RTCIceServer[];
  sendSignal: (signal: Signal) => void;
  /** Told what carried the connection each time it connects. */
  onLinked?: (pair: IcePair) => void;
}

export class PeerConnection {
  readonly remoteId: string;
  readonly channel: RTCDataChannel;
  readonly #pc: RTCPeerConnection;
  readonly #polite: boolean;
  readonly #sendSignal: (signal: Signal) => void;
  #makingOffer = false;
  #ignoreOffer = false;
  #closed = false;
  /** ICE found no path to the other side. */
  iceFailed = false;
  /** Closes a link that lost its path and has not found another. */
  #giveUp: ReturnType<typeof setTimeout> | undefined;

  constructor(options: PeerConnectionOptions) {
    this.remoteId = options.remoteId;
    this.#polite = options.localId > options.remoteId;
    this.#sendSignal = options.sendSignal;
    this.#pc = new RTCPeerConnection({ iceServers: options.iceServers });
    this.channel = this.#pc.createDataChannel('cinemesh', { negotiated: true, id: 0, ordered: true });
    if (options.onLinked !== undefined) reportPairOnConnect(this.#pc, options.onLinked);
    this.#pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate === null || candidate.candidate === '') return;
      this.#sendSignal({
        kind: 'candidate',
        candidate: candidate.candidate,
        sdp_mid: candidate.sdpMid,
        sdp_m_line_index: candidate.sdpMLineIndex,
      });
    });
    this.#pc.addEventListener('connectionstatechange', () => {
      this.iceFailed ||= this.#pc.connectionState === 'failed';
      if (this.#pc.connectionState === 'failed' || this.#pc.connectionState === 'closed') this.close();
    });
    this.#pc.addEventListener('iceconnectionstatechange', () => this.#watchPath());
  }

  #watchPath(): void {
    const state = this.#pc.iceConnectionState;
    if (state === 'connected' || state === 'completed') {
      clearTimeout(this.#giveUp);
      this.#giveUp = undefined;
      return;
    }
    if (state !== 'disconnected' || this.#giveUp !== undefined) return;
    this.#giveUp = setTimeout(() => this.close(), RECOVERY_MS);
    setTimeout(() => {
      if (this.#closed || this.#pc.iceConnectionState !== 'disconnected' || this.#pc.signalingState !== 'stable') return;
      this.#pc.restartIce();
      void this.offer().catch(() => this.close());
    }, PATH_LOSS_GRACE_MS);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts the connection from this side. */
  async offer(): Promise<void> {
    try {
      this.#makingOffer = true;
      await this.#pc.setLocalDescription();
      const sdp = this.#pc.localDescription?.sdp;
      if (sdp !== undefined) this.#sendSignal({ kind: 'offer', sdp });
    } finally {
      this.#makingOffer = false;
    }
  }

  /** Applies a signal the other side sent through the tracker. */
  async receive(signal: Signal): Promise<void> {
    if (this.#closed) return;
    if (signal.kind === 'candidate') {
      try {
        await this.#pc.addIceCandidate({
          candidate: signal.candidate,
          sdpMid: signal.sdp_mid,
          sdpMLineIndex: signal.sdp_m_line_index,
        });
      } catch (error) {
        // Candidates of an offer we ignored cannot be added; anything else is real.
        if (!this.#ignoreOffer) throw error;
      }
      return;
    }
    const collision = signal.kind === 'offer' && (this.#makingOffer || this.#pc.signalingState !== 'stable');
    this.#ignoreOffer = !this.#polite && collision;
    if (this.#ignoreOffer) return;
    await this.#pc.setRemoteDescription({ type: signal.kind, sdp: signal.sdp });
    if (signal.kind === 'offer') {
      await this.#pc.setLocalDescription();
      const sdp = this.#pc.localDescription?.sdp;
      if (sdp !== undefined) this.#sendSignal({ kind: 'answer', sdp });
    }
  }

  /** Resolves when the data channel opens; rejects on close or after `timeoutMs`. */
  opened(timeoutMs: number): Promise<void> {
    if (this.channel.readyState === 'open') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('the peer connection did not open in time')), timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.channel.removeEventListener('open', ok);
        this.channel.removeEventListener('close', closed);
      };
      const ok = (): void => {
        cleanup();
        resolve();
      };
      const fail = (error: Error): void => {
        cleanup();
        reject(error);
      };
      const closed = (): void => fail(new Error('the peer connection closed'));
      this.channel.addEventListener('open', ok);
      this.channel.addEventListener('close', closed);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#giveUp);
    this.channel.close();
    this.#pc.close();
    // RTCPeerConnection.close() fires no events: tell the link ourselves.
    this.channel.dispatchEvent(new Event('close'));
  }
}
