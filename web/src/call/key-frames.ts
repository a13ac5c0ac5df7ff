// A call's video after its path broke and came back: packets flow again, but
// every frame in them refers to frames lost while the path was down, so
// nothing decodes until a key frame comes. Chromium's receiver asks for one
// (a PLI) only after 3 s without a decodable frame, and that ask is often
// lost while the path is still down: the next comes 3 s later, and the video
// stays frozen for some 7 s after a router is renumbered though its packets
// were back after 4.
//
// So both ends act. The sender starts a key frame when its link moves to a
// new path (`sendKeyFrames`). The receiver, for a while after its link
// stumbled (ICE `disconnected`, or a new path, whichever side restarted),
// looks at its incoming video a few times a second; when packets come but no
// frame decodes, it asks the sender over the room socket (`FrozenVideoWatch`),
// which is up again by then.

/** The counters of one incoming video (an `inbound-rtp` stats entry). */
export interface InboundVideo {
  packets: number;
  frames: number;
}

interface StatsEntry {
  type: string;
  id: string;
  kind?: string;
  packetsReceived?: number;
  framesDecoded?: number;
}

/** Packets in one look without a decoded frame that mean the video is stuck, not between two frames. */
const STUCK_PACKETS = 5;

/** Each incoming video in an RTCStatsReport's values, by stats id. */
export function inboundVideos(stats: Iterable<StatsEntry>): Map<string, InboundVideo> {
  const videos = new Map<string, InboundVideo>();
  for (const entry of stats) {
    if (entry.type !== 'inbound-rtp' || entry.kind !== 'video') continue;
    videos.set(entry.id, { packets: entry.packetsReceived ?? 0, frames: entry.framesDecoded ?? 0 });
  }
  return videos;
}

/** Whether some video got packets between two looks but decoded no frame from them. */
export function packetsWithoutFrames(before: Map<string, InboundVideo>, after: Map<string, InboundVideo>): boolean {
  for (const [id, now] of after) {
    const then = before.get(id);
    if (then !== undefined && now.packets - then.packets >= STUCK_PACKETS && now.frames === then.frames) return true;
  }
  return false;
}

export interface FrozenVideoTimings {
  /** How often the incoming video is looked at while watched, ms. */
  lookEveryMs: number;
  /**
   * How long packets must come without a decoded frame before the sender is
   * asked, ms: a large key frame paced out over a slow path, or a frame
   * waiting a round trip for a lost packet, is not stuck.
   */
  stuckForMs: number;
  /** How long after a path loss it is watched, ms: a new path takes seconds to find. */
  watchForMs: number;
  /** The least time between two asks, ms: a key frame takes a round trip and a few packets to arrive. */
  askEveryMs: number;
}

export const DEFAULT_FROZEN_VIDEO_TIMINGS: FrozenVideoTimings = { lookEveryMs: 250, stuckForMs: 600, watchForMs: 15_000, askEveryMs: 1_500 };

/**
 * Decides, from looks at a link's incoming video, when to ask its sender for
 * a key frame. Kept apart from the stats reading so its rules can be tested
 * on their own.
 */
export class FrozenVideoJudge {
  #last: { videos: Map<string, InboundVideo>; at: number } | undefined;
  /** When the looks began to find packets without frames (undefined: the last look found none stuck). */
  #stuckSince: number | undefined;
  #askedAt = Number.NEGATIVE_INFINITY;

  constructor(readonly timings: Pick<FrozenVideoTimings, 'stuckForMs' | 'askEveryMs'>) {}

  /** The videos as they are `now`; true when the sender should be asked for a key frame. */
  look(videos: Map<string, InboundVideo>, now: number): boolean {
    const before = this.#last;
    this.#last = { videos, at: now };
    if (before === undefined || !packetsWithoutFrames(before.videos, videos)) {
      this.#stuckSince = undefined;
      return false;
    }
    // The packets without frames began after the look before this one: stuck since then, at most.
    this.#stuckSince ??= before.at;
    if (now - this.#stuckSince < this.timings.stuckForMs || now - this.#askedAt < this.timings.askEveryMs) return false;
    this.#askedAt = now;
    return true;
  }

  /** Forgets the looks so far: the next one starts a new comparison (a watch begins again). */
  reset(): void {
    this.#last = undefined;
    this.#stuckSince = undefined;
  }
}

/**
 * Watches one link's incoming video for a while after its path was lost, and
 * calls `ask` when its sender should send a key frame. Reading stats costs
 * CPU the movie shares, so the link is looked at only while watched.
 */
export class FrozenVideoWatch {
  readonly #pc: RTCPeerConnection;
  readonly #ask: () => void;
  readonly #timings: FrozenVideoTimings;
  readonly #judge: FrozenVideoJudge;
  #until = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  #looking = false;

  constructor(pc: RTCPeerConnection, ask: () => void, timings: FrozenVideoTimings = DEFAULT_FROZEN_VIDEO_TIMINGS) {
    this.#pc = pc;
    this.#ask = ask;
    this.#timings = timings;
    this.#judge = new FrozenVideoJudge(timings);
  }

  /** Watches from now for `watchForMs` (again, if already watching). */
  watch(): void {
    this.#until = Date.now() + this.#timings.watchForMs;
    if (this.#timer !== undefined) return;
    this.#judge.reset();
    this.#timer = setInterval(() => void this.#look(), this.#timings.lookEveryMs);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #look(): Promise<void> {
    if (Date.now() > this.#until || this.#pc.connectionState === 'closed') {
      this.close();
      return;
    }
    // A slow getStats is not overtaken by the next look.
    if (this.#looking) return;
    this.#looking = true;
    try {
      const videos = inboundVideos((await this.#pc.getStats()).values() as Iterable<StatsEntry>);
      // Closed while the stats were read: a link gone or replaced asks for nothing.
      if (this.#timer === undefined) return;
      if (this.#judge.look(videos, Date.now())) this.#ask();
    } catch {
      // Closed meanwhile: the next look stops the watch.
    } finally {
      this.#looking = false;
    }
  }
}

/** Tries to set `active` on every encoding of `sender`; a few tries, since a negotiation may change the parameters meanwhile. */
async function setActive(sender: RTCRtpSender, active: boolean): Promise<void> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 4; attempt++) {
    try {
      const parameters = sender.getParameters();
      for (const encoding of parameters.encodings) encoding.active = active;
      await sender.setParameters(parameters);
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw lastError;
}

/** Senders this module paused and has not resumed yet (a resume that failed is tried again next time). */
const pausedHere = new WeakSet<RTCRtpSender>();

/**
 * Makes `sender`'s encoder send a key frame now. Chromium has no call for
 * it a page can reach (`RTCRtpSender.generateKeyFrame` is not there), but it
 * starts every stream that goes from paused to sending with a key frame: so
 * the stream is paused and resumed at once. Senders with nothing to encode,
 * or paused by someone else, are left alone. True when a key frame was made.
 */
export async function sendKeyFrame(sender: RTCRtpSender): Promise<boolean> {
  if (sender.track?.kind !== 'video' || sender.track.readyState !== 'live') return false;
  const encodings = sender.getParameters().encodings;
  if (encodings.length === 0) return false;
  if (encodings.some((encoding) => encoding.active === false)) {
    if (!pausedHere.has(sender)) return false;
  } else {
    await setActive(sender, false);
    pausedHere.add(sender);
  }
  await setActive(sender, true);
  pausedHere.delete(sender);
  return true;
}

/** A key frame from every video `pc` sends; how many senders made one. */
export async function sendKeyFrames(pc: RTCPeerConnection): Promise<number> {
  const results = await Promise.allSettled(pc.getSenders().map(sendKeyFrame));
  return results.filter((result) => result.status === 'fulfilled' && result.value).length;
}

/**
 * Calls `changed` each time the path `pc` uses changes after its first: a
 * new pair after an ICE restart, and also the switch ICE may make to a
 * better pair just after connecting (one key frame more at a call's start).
 */
export function onPathChange(pc: RTCPeerConnection, changed: () => void): void {
  let watched: RTCIceTransport | undefined;
  const attach = (): void => {
    const transport = pc.getSenders()[0]?.transport?.iceTransport ?? pc.getReceivers()[0]?.transport?.iceTransport;
    if (transport === undefined || transport === watched) return;
    watched = transport;
    let path = pathOf(transport);
    transport.addEventListener('selectedcandidatepairchange', () => {
      const before = path;
      path = pathOf(transport);
      if (before !== undefined && path !== before) changed();
    });
  };
  pc.addEventListener('connectionstatechange', attach);
}

/** The selected pair's two candidates, as one string; undefined before one is selected, or where the stack cannot say. */
function pathOf(transport: RTCIceTransport): string | undefined {
  try {
    const pair = transport.getSelectedCandidatePair();
    return pair === null ? undefined : `${pair.local?.candidate ?? ''} ${pair.remote?.candidate ?? ''}`;
  } catch {
    return undefined; // Node's WebRTC, in the unit tests.
  }
}
