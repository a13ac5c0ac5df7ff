// The room's video call: joining is optional (watch only is the default).
// In the call a member sends its camera and microphone, and a screen if it
// shares one, to the others in the call, and sees them as tiles that adapt to
// their number; the one speaking is highlighted. Mute and camera off are
// shown to everyone (the room carries what each member streams). Video is
// limited to a few senders; past that a member is told so and its audio
// still goes.
import type { MemberView } from '../protocol/MemberView';
import type { StreamKind } from '../protocol/StreamKind';
import { MAX_VIDEO_SENDERS } from '../protocol/limits';
import { h } from '../ui/dom';
import { webRtcMissing } from '../webrtc/support';
import { ActiveSpeaker } from './active-speaker';
import type { MediaMesh, StreamLabel } from './media-mesh';

export interface CallPanelOptions {
  mesh: MediaMesh;
  /** Joins or leaves the call in the room. */
  setInCall: (joined: boolean) => void;
  /** What the call sends now changed (camera, microphone, screen). */
  onKinds: (kinds: StreamKind[]) => void;
}

interface Tile {
  figure: HTMLElement;
  video: HTMLVideoElement;
  caption: HTMLElement;
}

const isLive = (track: MediaStreamTrack): boolean => track.readyState === 'live';

export class CallPanel {
  readonly element: HTMLElement;
  readonly #options: CallPanelOptions;
  readonly #joinButton = h('button', { type: 'button' }, 'Join the call');
  readonly #muteButton = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Mute');
  readonly #cameraButton = h('button', { type: 'button', 'aria-pressed': 'true' }, 'Camera off');
  readonly #screenButton = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Share screen');
  readonly #notice = h('p', { class: 'muted call-notice', 'aria-live': 'polite' });
  readonly #tiles = h('div', { class: 'tiles', 'data-count': 0 });
  readonly #tileByKey = new Map<string, Tile>();
  readonly #remote = new Map<string, Map<StreamLabel, MediaStream>>();
  #self = '';
  #members: MemberView[] = [];
  #joined = false;
  #busy = false;
  #local: MediaStream | undefined;
  #screen: MediaStream | undefined;
  #speaker: ActiveSpeaker | undefined;
  #speaking: string | undefined;

  constructor(options: CallPanelOptions) {
    this.#options = options;
    const noWebRtc = webRtcMissing();
    if (noWebRtc !== undefined) {
      this.#joinButton.disabled = true;
      this.#notice.textContent = `The call is unavailable: ${noWebRtc}.`;
    } else if (!canCapture()) {
      this.#notice.textContent = NEEDS_HTTPS;
    }
    this.#joinButton.addEventListener('click', () => void (this.#joined ? this.leave() : this.#join()));
    this.#muteButton.addEventListener('click', () => this.#toggleMute());
    this.#cameraButton.addEventListener('click', () => void this.#toggleCamera());
    this.#screenButton.addEventListener('click', () => void this.#toggleScreen());
    this.element = h(
      'section',
      { class: 'call', 'aria-label': 'Video call' },
      h('div', { class: 'call-bar' }, this.#joinButton, this.#muteButton, this.#cameraButton, this.#screenButton),
      this.#notice,
      this.#tiles,
    );
    this.#render();
  }

  get joined(): boolean {
    return this.#joined;
  }

  membersChanged(self: string, members: MemberView[]): void {
    this.#self = self;
    this.#members = members;
    this.#render();
  }

  /** A member's call or screen stream arrived, changed or ended. */
  remote(member: string, label: StreamLabel, stream: MediaStream | undefined): void {
    const streams = this.#remote.get(member) ?? new Map<StreamLabel, MediaStream>();
    if (stream === undefined) streams.delete(label);
    else streams.set(label, stream);
    this.#remote.set(member, streams);
    if (label === 'call') this.#speaker?.listen(member, stream);
    this.#render();
  }

  /** The room refused our video (others took the places first): audio goes on. */
  videoRefused(message: string): void {
    for (const track of this.#local?.getVideoTracks() ?? []) this.#dropTrack(track);
    this.#stopScreen();
    this.#notice.textContent = message;
    this.#changed();
  }

  leave(): void {
    if (!this.#joined) return;
    this.#joined = false;
    for (const track of this.#local?.getTracks() ?? []) track.stop();
    this.#local = undefined;
    this.#stopScreen();
    this.#options.mesh.setOutgoing('call', undefined);
    this.#options.mesh.setInCall(false);
    this.#options.setInCall(false);
    this.#speaker?.close();
    this.#speaker = undefined;
    this.#notice.textContent = '';
    this.#changed();
  }

  /** Members other than us sending video now. */
  #videoSenders(): number {
    return this.#members.filter((m) => m.id !== this.#self && m.streaming.some((k) => k === 'camera' || k === 'screen')).length;
  }

  #videoFull(): boolean {
    return this.#videoSenders() >= MAX_VIDEO_SENDERS && !this.#sendsVideo();
  }

  #sendsVideo(): boolean {
    return (this.#local?.getVideoTracks().some(isLive) ?? false) || this.#screen !== undefined;
  }

  async #join(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    this.#joinButton.disabled = true;
    const video = !this.#videoFull();
    const both = video ? await media({ audio: true, video }) : undefined;
    const cameraError = both instanceof Error ? both : undefined;
    const opened = both instanceof MediaStream ? both : await media({ audio: true, video: false });
    this.#local = opened instanceof MediaStream ? opened : new MediaStream();
    this.#notice.textContent = !canCapture()
      ? NEEDS_HTTPS
      : !video
        ? `${MAX_VIDEO_SENDERS} members send video already: you are in with audio.`
        : this.#local.getTracks().length === 0
          ? 'No camera or microphone could be opened: you see and hear the others.'
          : cameraError !== undefined
            ? `The camera could not be opened (${cameraError.name}): you are in with audio. "Camera on" tries again.`
            : '';
    this.#joined = true;
    this.#busy = false;
    this.#joinButton.disabled = false;
    this.#speaker = new ActiveSpeaker((speaker) => {
      this.#speaking = speaker;
      this.#render();
    });
    this.#speaker.listen(this.#self, this.#local);
    for (const [member, streams] of this.#remote) this.#speaker.listen(member, streams.get('call'));
    this.#options.setInCall(true);
    this.#options.mesh.setInCall(true);
    this.#options.mesh.setOutgoing('call', { stream: this.#local, audience: 'call' });
    this.#changed();
  }

  #toggleMute(): void {
    for (const track of this.#local?.getAudioTracks() ?? []) track.enabled = !track.enabled;
    this.#changed();
  }

  async #toggleCamera(): Promise<void> {
    const local = this.#local;
    if (local === undefined || this.#busy) return;
    const live = local.getVideoTracks().filter(isLive);
    if (live.length > 0) {
      for (const track of live) this.#dropTrack(track);
    } else {
      if (this.#videoFull()) {
        this.#notice.textContent = `${MAX_VIDEO_SENDERS} members send video already: your audio still goes.`;
        return;
      }
      this.#busy = true;
      const camera = await media({ video: true, audio: false });
      this.#busy = false;
      const track = camera instanceof MediaStream ? camera.getVideoTracks()[0] : undefined;
      if (track === undefined) {
        this.#notice.textContent = camera instanceof Error ? `The camera could not be opened (${camera.name}).` : 'The camera could not be opened.';
        return;
      }
      this.#notice.textContent = '';
      local.addTrack(track);
    }
    this.#options.mesh.refresh();
    this.#changed();
  }

  async #toggleScreen(): Promise<void> {
    if (this.#screen !== undefined) {
      this.#stopScreen();
      this.#changed();
      return;
    }
    if (this.#videoFull()) {
      this.#notice.textContent = `${MAX_VIDEO_SENDERS} members send video already: sharing a screen has to wait.`;
      return;
    }
    let screen: MediaStream;
    try {
      screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch {
      this.#notice.textContent = 'Screen sharing was not started.';
      return;
    }
    this.#screen = screen;
    // The browser's own "Stop sharing" ends the track.
    for (const track of screen.getTracks()) track.addEventListener('ended', () => this.#screen === screen && (this.#stopScreen(), this.#changed()));
    this.#options.mesh.setOutgoing('screen', { stream: screen, audience: 'call' });
    this.#changed();
  }

  #stopScreen(): void {
    if (this.#screen === undefined) return;
    for (const track of this.#screen.getTracks()) track.stop();
    this.#screen = undefined;
    this.#options.mesh.setOutgoing('screen', undefined);
  }

  #dropTrack(track: MediaStreamTrack): void {
    track.stop();
    this.#local?.removeTrack(track);
    this.#options.mesh.refresh();
  }

  /** What we send changed: tell the room, and show it. */
  #changed(): void {
    const kinds: StreamKind[] = [];
    if (this.#joined) {
      if (this.#local?.getVideoTracks().some(isLive) === true) kinds.push('camera');
      if (this.#local?.getAudioTracks().some((t) => isLive(t) && t.enabled) === true) kinds.push('microphone');
      if (this.#screen !== undefined) kinds.push('screen');
    }
    this.#options.onKinds(kinds);
    this.#render();
  }

  #render(): void {
    const joined = this.#joined;
    this.#joinButton.textContent = joined ? 'Leave the call' : 'Join the call';
    const audio = this.#local?.getAudioTracks().filter(isLive) ?? [];
    const muted = audio.length === 0 || audio.every((t) => !t.enabled);
    const cameraOn = this.#local?.getVideoTracks().some(isLive) ?? false;
    this.#muteButton.hidden = !joined;
    this.#cameraButton.hidden = this.#screenButton.hidden = !joined || !canCapture();
    this.#muteButton.disabled = audio.length === 0;
    this.#muteButton.textContent = muted ? 'Unmute' : 'Mute';
    this.#muteButton.setAttribute('aria-pressed', String(muted));
    this.#cameraButton.textContent = cameraOn ? 'Camera off' : 'Camera on';
    this.#cameraButton.setAttribute('aria-pressed', String(cameraOn));
    const full = this.#videoFull();
    this.#cameraButton.disabled = !cameraOn && full;
    this.#cameraButton.title = !cameraOn && full ? `${MAX_VIDEO_SENDERS} members send video already` : '';
    this.#screenButton.textContent = this.#screen === undefined ? 'Share screen' : 'Stop sharing';
    this.#screenButton.setAttribute('aria-pressed', String(this.#screen !== undefined));
    this.#screenButton.disabled = this.#screen === undefined && full;
    this.#renderTiles();
  }

  #renderTiles(): void {
    const wanted = new Map<string, { member: MemberView | undefined; stream: MediaStream | undefined; label: StreamLabel; self: boolean }>();
    if (this.#joined) {
      const me = this.#members.find((m) => m.id === this.#self);
      wanted.set(`${this.#self}:call`, { member: me, stream: this.#local, label: 'call', self: true });
      if (this.#screen !== undefined) wanted.set(`${this.#self}:screen`, { member: me, stream: this.#screen, label: 'screen', self: true });
      for (const member of this.#members) {
        if (member.id === this.#self || !member.online || !member.in_call) continue;
        const streams = this.#remote.get(member.id);
        wanted.set(`${member.id}:call`, { member, stream: streams?.get('call'), label: 'call', self: false });
        const screen = streams?.get('screen');
        if (screen !== undefined) wanted.set(`${member.id}:screen`, { member, stream: screen, label: 'screen', self: false });
      }
    }
    for (const [key, tile] of this.#tileByKey) {
      if (wanted.has(key)) continue;
      tile.video.srcObject = null;
      tile.figure.remove();
      this.#tileByKey.delete(key);
    }
    for (const [key, want] of wanted) {
      let tile = this.#tileByKey.get(key);
      if (tile === undefined) {
        const video = h('video', { autoplay: true, playsinline: true });
        video.muted = want.self;
        const caption = h('figcaption', {});
        tile = { figure: h('figure', { class: 'tile', 'data-member': want.member?.id ?? '', 'data-label': want.label }, video, caption), video, caption };
        this.#tileByKey.set(key, tile);
        this.#tiles.append(tile.figure);
      }
      if (tile.video.srcObject !== (want.stream ?? null)) tile.video.srcObject = want.stream ?? null;
      const name = want.member?.name ?? '';
      const hasVideo = want.stream?.getVideoTracks().some(isLive) ?? false;
      // Muted as the room says it (what the member streams), the same for everyone.
      const mutedMic = want.label === 'call' && !(want.member?.streaming.includes('microphone') ?? false);
      tile.figure.classList.toggle('no-video', !hasVideo);
      tile.figure.classList.toggle('speaking', want.label === 'call' && this.#speaking === want.member?.id);
      tile.caption.replaceChildren(
        want.label === 'screen' ? `${name}'s screen` : want.self ? `${name} (you)` : name,
        mutedMic ? h('span', { class: 'badge muted-badge', 'aria-label': `${name} is muted` }, 'Muted') : '',
        want.stream === undefined && !want.self ? h('span', { class: 'badge' }, 'Connecting…') : '',
      );
    }
    this.#tiles.dataset.count = String(wanted.size);
  }
}

/** Browsers open cameras, microphones and screens only for secure pages: HTTPS, or this computer. */
const NEEDS_HTTPS =
  'Camera, microphone and screen sharing need this page over HTTPS: in the call you see and hear the others.';

function canCapture(): boolean {
  return window.isSecureContext && navigator.mediaDevices !== undefined;
}

/** The devices asked for, or why the browser refused them (its error names the cause: NotAllowedError, NotReadableError...). */
async function media(constraints: MediaStreamConstraints): Promise<MediaStream | Error | undefined> {
  if (!canCapture()) return undefined;
  try {
    return await navigator.mediaDevices.getUserMedia(constraints);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
