// The room's media between members' browsers: one RTCPeerConnection per pair
// of members that has something to send either way, negotiated over the room
// socket. A member sends its call media (camera and microphone, and a screen)
// to the others in the call, and a file it streams to everyone online.
//
// Negotiation follows the "perfect negotiation" pattern: either side may
// offer when its tracks change; when two offers cross, the member with the
// smaller id yields (rolls back and answers). Every description carries the
// sender's labels for its streams, so the receiver knows which remote stream
// is someone's camera, screen or file. Signals can be lost on the way; a
// watchdog tries a link that does not connect again (`negotiation-watchdog.ts`).
//
// A path that breaks mid-call (a home's router renumbered, a phone changing
// networks) is looked for again at once: an ICE restart a second after the
// link reports `disconnected`, rather than when the browser gives up on it
// (`failed`, about 30 s later). The same change often kills the room socket,
// so what was said while it was down is said again when it is back (`resync`).
// The video on a path found again needs a key frame before it shows
// (`key-frames.ts`).
import type { IcePair } from '../protocol/IcePair';
import type { MemberView } from '../protocol/MemberView';
import { reportPairOnConnect, usesOwnRelay } from '../webrtc/ice-pair';
import { PATH_LOSS_GRACE_MS } from '../webrtc/path-loss';
import { webRtcMissing } from '../webrtc/support';
import { onPathChange, sendKeyFrames } from './key-frames';
import { type LinkReport, MediaLink, type RemoteStreamInfo, type StreamLabel } from './media-link';
import { DEFAULT_NEGOTIATION_TIMINGS, type NegotiationTimings, nudgeFor } from './negotiation-watchdog';

export type { LinkReport, RemoteStreamInfo, StreamLabel };

export interface Outgoing {
  stream: MediaStream;
  /** `call`: to the members in the call (when this member is in it); `room`: to everyone online. */
  audience: 'call' | 'room';
  /** Told to the receivers with the label (a file's length, for their seek bar). */
  durationMs?: number;
}

export interface MeshEvents {
  /** A member's stream under `label` appeared or changed tracks (a stream), or ended (undefined). */
  onRemote: (member: string, label: StreamLabel, stream: MediaStream | undefined, info?: RemoteStreamInfo) => void;
  /** A link connected over `pair`. */
  onLinked?: (pair: IcePair) => void;
  /** A link lost its path: the room socket may have lost its own, and should find out now. */
  onPathLost?: () => void;
}

/** The least time between two key frames sent on one link, ms. */
const KEY_FRAME_GAP_MS = 500;

/** Connections replaced for one member in a row before the mesh stops replacing them. */
const MAX_RECREATES = 2;

/** What goes through the room socket between two members. */
export interface MeshSignal {
  description?: RTCSessionDescriptionInit;
  candidate?: RTCIceCandidateInit;
  /** The sender's stream ids and what each is, sent with every description. */
  streams?: Record<string, RemoteStreamInfo>;
  /** With an offer: its number among the sender's offers (the same when sent again). */
  offer?: number;
  /** With an answer: the number of the offer it answers (absent from pages that number none). */
  answers?: number;
  /** The sender's room socket came back: an offer of ours it may have missed is wanted again. */
  resync?: true;
  /** The sender replaced its connection to us: ours goes too, and its offer makes a new one. */
  reset?: true;
  /** The sender's video from us comes as packets it cannot decode: a key frame is wanted. */
  keyframe?: true;
}

export class MediaMesh {
  #self = '';
  #members: MemberView[] = [];
  #inCall = false;
  readonly #outgoing = new Map<StreamLabel, Outgoing>();
  readonly #links = new Map<string, MediaLink>();
  /** Per member: connections replaced (`recreate`) since one last connected. */
  readonly #recreated = new Map<string, number>();
  readonly #send: (to: string, signal: MeshSignal) => void;
  readonly #events: MeshEvents;
  #rtc: RTCConfiguration;
  readonly #timings: NegotiationTimings;
  /** Looks at every link that has not connected yet (see `negotiation-watchdog.ts`). */
  readonly #watchdog: ReturnType<typeof setInterval>;

  constructor(
    send: (to: string, signal: MeshSignal) => void,
    events: MeshEvents,
    rtc: RTCConfiguration,
    timings: NegotiationTimings = DEFAULT_NEGOTIATION_TIMINGS,
  ) {
    this.#send = send;
    this.#events = events;
    this.#rtc = rtc;
    this.#timings = timings;
    this.#watchdog = setInterval(() => this.#nudgeStalled(), Math.min(1_000, timings.answerWaitMs / 2));
  }

  /** The ICE servers links are made and restarted with. */
  get iceServers(): RTCIceServer[] {
    return this.#rtc.iceServers ?? [];
  }

  /**
   * New ICE servers (fresh TURN credentials): for links made from now on, and
   * for the ICE restarts of the links there are. With `moveOffOldRelays`, a
   * link on a relay of ours restarts ICE now (not needed when a resync
   * restarts every link anyway).
   */
  setIceServers(iceServers: RTCIceServer[], moveOffOldRelays = true): void {
    this.#rtc = { ...this.#rtc, iceServers };
    for (const link of this.#links.values()) {
      try {
        link.pc.setConfiguration(this.#rtc);
      } catch {
        // A closed link takes no configuration; it is replaced, with the new servers, when needed.
        continue;
      }
      if (!moveOffOldRelays) continue;
      // A relay of ours was allocated with the old credentials, and the TURN server refuses to
      // refresh it once they expire: move to one allocated with the new ones now, while the old
      // path still carries the media, rather than after it lapses.
      void usesOwnRelay(link.pc).then((relayed) => {
        if (!relayed) return;
        link.enqueue(() => {
          // Closed meanwhile; else the restart goes with the next offer, whatever the state now.
          if (this.#links.get(link.member) === link) link.pc.restartIce();
        });
      });
    }
  }

  /** This member's id and the room's members (online state, who is in the call). */
  setMembers(self: string, members: MemberView[]): void {
    this.#self = self;
    this.#members = members;
    this.refresh();
  }

  setInCall(inCall: boolean): void {
    this.#inCall = inCall;
    this.refresh();
  }

  /** Starts, changes or (undefined) stops sending a stream. */
  setOutgoing(label: StreamLabel, outgoing: Outgoing | undefined): void {
    if (outgoing === undefined) this.#outgoing.delete(label);
    else this.#outgoing.set(label, outgoing);
    this.refresh();
  }

  /** Brings every link in line with what should be sent (call after a stream's tracks change). */
  refresh(): void {
    // Nothing can be sent or received without WebRTC (the call and file buttons say so).
    if (webRtcMissing() !== undefined) return;
    const online = new Set(this.#members.filter((m) => m.online && m.id !== this.#self).map((m) => m.id));
    for (const [member, link] of this.#links) {
      if (!online.has(member)) this.#close(link);
    }
    for (const member of this.#members) {
      if (!online.has(member.id)) continue;
      const tracks = this.#tracksFor(member);
      let link = this.#links.get(member.id);
      if (link === undefined) {
        if (tracks.size === 0) continue;
        link = this.#open(member.id);
      }
      this.#sendTracks(link, tracks);
    }
  }

  /** A signal from another member, through the room socket. */
  receive(from: string, data: unknown): void {
    if (from === this.#self || typeof data !== 'object' || data === null || webRtcMissing() !== undefined) return;
    const signal = data as MeshSignal;
    if (signal.reset === true) {
      const old = this.#links.get(from);
      if (old !== undefined) this.#close(old);
      // What we send the other side goes on a new link (it may send us nothing, and then it opens none).
      this.refresh();
      return;
    }
    const known = this.#links.get(from);
    // Only an offer starts a link: a stray candidate or resync for a link closed since needs none.
    if (known === undefined && signal.description?.type !== 'offer') return;
    const link = known ?? this.#open(from);
    link.enqueue(() => this.#handle(link, signal));
    // A link the other side started: what we send it joins once its offer is answered.
    if (known === undefined) link.enqueue(() => this.refresh());
  }

  /**
   * The room socket is back after a drop. The signals sent while it was down
   * were lost, both ways: each link whose offer is out sends it again, and
   * asks the other side to send its own pending offer again (when both were
   * lost, the side that does not yield would otherwise ignore ours and wait
   * for an answer that never comes). And a socket that dropped most often
   * means the network changed under this page, taking the links' paths
   * along, seconds before ICE notices: every other link restarts ICE now
   * (media keeps to the old path until a new one is found, so a link that
   * was fine loses nothing).
   */
  resync(): void {
    for (const link of this.#links.values()) {
      link.enqueue(() => {
        // Closed by the member list the welcome brought.
        if (this.#links.get(link.member) !== link) return;
        const pc = link.pc;
        link.frozenVideo.watch();
        this.#send(link.member, { resync: true });
        if (pc.signalingState === 'have-local-offer') this.#sendDescription(link);
        else if (pc.signalingState === 'stable') pc.restartIce();
      });
    }
  }

  /** Each member linked to: its connection's state and history (for tests, and to tell where a call got stuck). */
  diagnostics(): Record<string, LinkReport> {
    return Object.fromEntries([...this.#links].map(([member, link]) => [member, link.report()]));
  }

  /**
   * The codecs each link receives media in (`video/VP8`, `audio/opus`...),
   * from the inbound streams that have packets: what the two browsers agreed on.
   */
  async receivedCodecs(): Promise<Record<string, string[]>> {
    const received: Record<string, string[]> = {};
    for (const [member, link] of this.#links) {
      const stats = [...(await link.pc.getStats()).values()] as { type: string; id: string; mimeType?: string; codecId?: string; packetsReceived?: number }[];
      const mimeTypes = new Map(stats.filter((s) => s.type === 'codec').map((s) => [s.id, s.mimeType ?? '']));
      received[member] = stats
        .filter((s) => s.type === 'inbound-rtp' && (s.packetsReceived ?? 0) > 0 && s.codecId !== undefined)
        .map((s) => mimeTypes.get(s.codecId ?? '') ?? '');
    }
    return received;
  }

  close(): void {
    clearInterval(this.#watchdog);
    for (const link of this.#links.values()) this.#close(link);
  }

  /** The tracks this member should get from us, with the stream each belongs to. */
  #tracksFor(member: MemberView): Map<MediaStreamTrack, MediaStream> {
    const tracks = new Map<MediaStreamTrack, MediaStream>();
    for (const outgoing of this.#outgoing.values()) {
      const wanted = outgoing.audience === 'room' || (this.#inCall && member.in_call);
      if (!wanted) continue;
      for (const track of outgoing.stream.getTracks()) {
        if (track.readyState === 'live') tracks.set(track, outgoing.stream);
      }
    }
    return tracks;
  }

  #labels(link: MediaLink): Record<string, RemoteStreamInfo> {
    const labels: Record<string, RemoteStreamInfo> = {};
    const sent = new Set(link.senders.keys());
    for (const [label, outgoing] of this.#outgoing) {
      if (!outgoing.stream.getTracks().some((t) => sent.has(t))) continue;
      labels[outgoing.stream.id] = outgoing.durationMs === undefined ? { label } : { label, durationMs: outgoing.durationMs };
    }
    return labels;
  }

  #sendTracks(link: MediaLink, tracks: Map<MediaStreamTrack, MediaStream>): void {
    for (const [track, sender] of link.senders) {
      if (tracks.has(track)) continue;
      link.pc.removeTrack(sender);
      link.senders.delete(track);
    }
    for (const [track, stream] of tracks) {
      if (!link.senders.has(track)) link.senders.set(track, link.pc.addTrack(track, stream));
    }
  }

  #open(member: string): MediaLink {
    const link = new MediaLink(member, this.#self < member, this.#rtc, () => this.#send(member, { keyframe: true }));
    this.#links.set(member, link);
    const pc = link.pc;
    onPathChange(pc, () => {
      // Either side may have restarted ICE: each sends a key frame, and watches what comes in.
      link.frozenVideo.watch();
      link.enqueue(() => this.#sendKeyFrames(link));
    });
    pc.addEventListener('negotiationneeded', () => link.enqueue(() => this.#offer(link)));
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate === null) return;
      link.counted('sent', 'candidate');
      this.#send(member, { candidate: candidate.toJSON() });
    });
    if (this.#events.onLinked !== undefined) reportPairOnConnect(pc, this.#events.onLinked);
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') this.#recreated.delete(member);
      if (pc.connectionState === 'failed') this.#pathLost(link);
    });
    pc.addEventListener('iceconnectionstatechange', () => {
      if (pc.iceConnectionState !== 'disconnected') return;
      link.frozenVideo.watch();
      setTimeout(() => {
        if (pc.iceConnectionState === 'disconnected') this.#pathLost(link);
      }, PATH_LOSS_GRACE_MS);
    });
    pc.addEventListener('track', ({ track, streams }) => {
      const stream = streams[0];
      if (stream === undefined) return;
      const info = link.remoteInfo[stream.id] ?? { label: 'call' };
      link.remote.set(info.label, stream);
      const changed = (): void => {
        // Tracks leave a stream the sender stopped after it was said to be gone: not news.
        if (link.remote.get(info.label) === stream) this.#events.onRemote(member, info.label, stream, info);
      };
      stream.onremovetrack = changed;
      track.addEventListener('unmute', changed);
      changed();
    });
    return link;
  }

  // Offers and incoming signals run one after another on the link's queue, so
  // an offer being made never meets an incoming one halfway: a collision is
  // an offer arriving while this side's own is out (`have-local-offer`).
  async #offer(link: MediaLink): Promise<void> {
    await link.pc.setLocalDescription();
    if (link.pc.localDescription?.type === 'offer') link.offerNumber += 1;
    this.#sendDescription(link);
  }

  /** Sends this side's current description (an offer or an answer) with its stream labels. */
  #sendDescription(link: MediaLink): void {
    const description = link.pc.localDescription;
    if (description === null) return;
    const offer = description.type === 'offer';
    link.counted('sent', offer ? 'offer' : 'answer');
    link.lastStep = Date.now();
    const signal: MeshSignal = { description: description.toJSON() as RTCSessionDescriptionInit, streams: this.#labels(link) };
    if (offer) signal.offer = link.offerNumber;
    else if (link.answering !== undefined) signal.answers = link.answering;
    this.#send(link.member, signal);
  }

  /**
   * Replaces a link's connection with a new one, and tells the other side to
   * drop its own; at most MAX_RECREATES times in a row for a member (a
   * browser that gathers nothing for any connection is not helped by more).
   * The new link's offers are numbered on from the old one's, so an answer
   * to an old offer still on its way is not taken for one to a new offer.
   */
  #recreate(link: MediaLink): void {
    if (this.#links.get(link.member) !== link) return;
    const recreated = this.#recreated.get(link.member) ?? 0;
    if (recreated >= MAX_RECREATES) {
      link.pc.restartIce();
      return;
    }
    this.#recreated.set(link.member, recreated + 1);
    this.#send(link.member, { reset: true });
    this.#close(link);
    this.refresh();
    const fresh = this.#links.get(link.member);
    if (fresh !== undefined) fresh.offerNumber = link.offerNumber;
  }

  /** The link's path broke (a network change): ICE looks for another with fresh candidates. */
  #pathLost(link: MediaLink): void {
    if (this.#links.get(link.member) !== link) return;
    this.#events.onPathLost?.();
    link.frozenVideo.watch();
    link.enqueue(() => link.pc.restartIce());
  }

  #nudgeStalled(): void {
    const now = Date.now();
    for (const link of this.#links.values()) {
      const nudge = nudgeFor(link.progress(now), this.#timings);
      if (nudge === undefined) continue;
      // Not looked at again for a while, whether or not the nudge is still due when its turn comes.
      link.lastStep = now;
      link.enqueue(async () => {
        // Steps queued before it may have moved the link on: then it has nothing to do.
        if (link.lastStep !== now) return;
        if (nudgeFor({ ...link.progress(Date.now()), waitedMs: Number.POSITIVE_INFINITY }, this.#timings) !== nudge) return;
        link.retried();
        if (nudge === 'recreate') {
          this.#recreate(link);
          return;
        }
        if (nudge === 'resend-offer') this.#sendDescription(link);
        if (nudge === 'rollback') await link.pc.setLocalDescription({ type: 'rollback' });
        if (nudge === 'restart-ice' || nudge === 'rollback') link.pc.restartIce();
      });
    }
  }

  async #handle(link: MediaLink, signal: MeshSignal): Promise<void> {
    const pc = link.pc;
    if (signal.resync === true) {
      if (pc.signalingState === 'have-local-offer') this.#sendDescription(link);
      return;
    }
    if (signal.keyframe === true) {
      await this.#sendKeyFrames(link);
      return;
    }
    if (signal.streams !== undefined) this.#remoteLabels(link, signal.streams);
    if (signal.description !== undefined) {
      const description = signal.description;
      link.counted('received', description.type === 'offer' ? 'offer' : 'answer');
      if (description.type === 'answer') {
        // A second answer to an offer sent twice by the watchdog, or an answer
        // to an offer since replaced: applying it would undo the current one.
        const stale = signal.answers !== undefined && signal.answers !== link.offerNumber;
        if (stale || pc.signalingState !== 'have-local-offer') return;
      }
      const collision = description.type === 'offer' && pc.signalingState !== 'stable';
      link.ignoreOffer = !link.polite && collision;
      if (link.ignoreOffer) return;
      link.lastStep = Date.now();
      // Said outright rather than left to setRemoteDescription: not every stack rolls back implicitly.
      if (collision) await pc.setLocalDescription({ type: 'rollback' });
      await pc.setRemoteDescription(description);
      if (description.type === 'offer') {
        link.answering = signal.offer;
        await pc.setLocalDescription();
        this.#sendDescription(link);
      }
    } else if (signal.candidate !== undefined) {
      link.counted('received', 'candidate');
      try {
        await pc.addIceCandidate(signal.candidate);
      } catch (error) {
        // Candidates of an offer this side ignored fail; others are real errors.
        if (!link.ignoreOffer) throw error;
      }
    }
  }

  /**
   * A key frame from every video on the link, unless one went less than
   * KEY_FRAME_GAP_MS ago: a path change and the other side's ask often come
   * together, and a page that asks again and again gets no more.
   */
  async #sendKeyFrames(link: MediaLink): Promise<void> {
    const now = Date.now();
    if (now - link.keyFrames.lastSentAt < KEY_FRAME_GAP_MS) return;
    link.keyFrames.lastSentAt = now;
    if ((await sendKeyFrames(link.pc)) > 0) link.keyFrames.sent += 1;
  }

  /** The sender's streams now: any label it no longer sends has ended. */
  #remoteLabels(link: MediaLink, streams: Record<string, RemoteStreamInfo>): void {
    link.remoteInfo = streams;
    const labels = new Set(Object.values(streams).map((s) => s.label));
    for (const label of [...link.remote.keys()]) {
      if (labels.has(label)) continue;
      link.remote.delete(label);
      this.#events.onRemote(link.member, label, undefined);
    }
  }

  #close(link: MediaLink): void {
    link.close();
    this.#links.delete(link.member);
    for (const label of link.remote.keys()) this.#events.onRemote(link.member, label, undefined);
    link.remote.clear();
  }
}
