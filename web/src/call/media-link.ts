// One member's media connection, with what it has been through: enough for
// the negotiation watchdog to judge it and for a test or a bug report to say
// where a call that never showed got stuck.
import { FrozenVideoWatch } from './key-frames';
import type { LinkProgress } from './negotiation-watchdog';

/** What a member sends: its call (camera + microphone), a screen, a file. */
export type StreamLabel = 'call' | 'screen' | 'file';

export interface RemoteStreamInfo {
  label: StreamLabel;
  durationMs?: number;
}

type SignalKind = 'offer' | 'answer' | 'candidate';

/** A link's state and history, for the page and tests. */
export interface LinkReport {
  connection: RTCPeerConnectionState;
  signaling: RTCSignalingState;
  ice: RTCIceConnectionState;
  gathering: RTCIceGatheringState;
  sent: Record<SignalKind, number>;
  received: Record<SignalKind, number>;
  /** Offers sent again and ICE restarts the watchdog asked for. */
  retries: number;
  /** The last error a description or candidate met, if any. */
  lastError?: string;
  /** Key frames this side asked the other for (its video came without decodable frames), and sent (asked, or on a new path). */
  keyFrames: { asked: number; sent: number };
}

export class MediaLink {
  readonly pc: RTCPeerConnection;
  /** Looks at the video coming in after a path loss, and asks for a key frame when it does not decode. */
  readonly frozenVideo: FrozenVideoWatch;
  ignoreOffer = false;
  /** The number of this side's latest offer (answers say which offer they answer). */
  offerNumber = 0;
  /** The number of the other side's offer being answered, if its page numbers them. */
  answering: number | undefined;
  /** Signals are handled one after another: descriptions are async. */
  queue: Promise<void> = Promise.resolve();
  readonly senders = new Map<MediaStreamTrack, RTCRtpSender>();
  remoteInfo: Record<string, RemoteStreamInfo> = {};
  readonly remote = new Map<StreamLabel, MediaStream>();
  /** When the last description went or was taken (not one ignored), or the watchdog last looked. */
  lastStep = Date.now();
  retries = 0;
  readonly keyFrames = { asked: 0, sent: 0, lastSentAt: Number.NEGATIVE_INFINITY };
  /** Retries since the link was last connected (the watchdog backs off with them). */
  retriesSinceConnected = 0;
  lastError: string | undefined;
  readonly #sent: Record<SignalKind, number> = { offer: 0, answer: 0, candidate: 0 };
  readonly #received: Record<SignalKind, number> = { offer: 0, answer: 0, candidate: 0 };
  /** When gathering began without a candidate found since (undefined: not gathering, or found one). */
  #silentGatheringSince: number | undefined;

  constructor(
    readonly member: string,
    readonly polite: boolean,
    rtc: RTCConfiguration,
    askForKeyFrame: () => void,
  ) {
    this.pc = new RTCPeerConnection(rtc);
    this.frozenVideo = new FrozenVideoWatch(this.pc, () => {
      this.keyFrames.asked += 1;
      askForKeyFrame();
    });
    this.pc.addEventListener('connectionstatechange', () => {
      if (this.pc.connectionState === 'connected') this.retriesSinceConnected = 0;
    });
    this.pc.addEventListener('icegatheringstatechange', () => {
      this.#silentGatheringSince = this.pc.iceGatheringState === 'gathering' ? Date.now() : undefined;
    });
  }

  close(): void {
    this.frozenVideo.close();
    this.pc.close();
  }

  /** The watchdog did something about this link. */
  retried(): void {
    this.retries += 1;
    this.retriesSinceConnected += 1;
    // A link still silent after a retry waits its backed-off time again before the next.
    if (this.#silentGatheringSince !== undefined) this.#silentGatheringSince = Date.now();
  }

  /** Runs `step` after the steps before it; its error is kept, not thrown. */
  enqueue(step: () => Promise<void> | void): void {
    this.queue = this.queue.then(step).catch((error: unknown) => {
      this.lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    });
  }

  counted(direction: 'sent' | 'received', kind: SignalKind): void {
    if (direction === 'sent') {
      this.#sent[kind] += 1;
      if (kind === 'candidate') this.#silentGatheringSince = undefined;
    } else this.#received[kind] += 1;
  }

  progress(now: number): LinkProgress {
    return {
      signaling: this.pc.signalingState,
      connection: this.pc.connectionState,
      negotiates: this.pc.getTransceivers().length > 0,
      waitedMs: now - this.lastStep,
      retries: this.retriesSinceConnected,
      gathered: this.#sent.candidate,
      silentGatheringMs: this.#silentGatheringSince === undefined ? 0 : now - this.#silentGatheringSince,
    };
  }

  report(): LinkReport {
    const pc = this.pc;
    const report: LinkReport = {
      connection: pc.connectionState,
      signaling: pc.signalingState,
      ice: pc.iceConnectionState,
      gathering: pc.iceGatheringState,
      sent: { ...this.#sent },
      received: { ...this.#received },
      retries: this.retries,
      keyFrames: { asked: this.keyFrames.asked, sent: this.keyFrames.sent },
    };
    if (this.lastError !== undefined) report.lastError = this.lastError;
    return report;
  }
}
