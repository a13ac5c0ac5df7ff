// A file in place of the movie. Someone who controls playback may play a
// file from their own computer: it plays in their page, on the room's clock
// like the movie, and the media mesh streams it to everyone else, whose pages
// show that stream instead of the movie. One file at a time in a room: the
// button is disabled while someone else streams one. Nothing is uploaded.
import { LocalFile } from '../call/local-file';
import type { MediaMesh, RemoteStreamInfo } from '../call/media-mesh';
import type { RoomClient } from '../rooms/room-client';
import { h } from '../ui/dom';
import { webRtcMissing } from '../webrtc/support';

const PLAY_LABEL = 'Play a file from this computer';

/** What the file stream needs from the page around it. */
export interface FileStage {
  room: Pick<RoomClient, 'member' | 'members' | 'control'>;
  mesh: Pick<MediaMesh, 'setOutgoing' | 'refresh'>;
  /** The movie's video, which the room's clock drives again when the file stops. */
  movie: HTMLVideoElement;
  /** The movie steps aside (a file plays instead), or comes back. */
  movieAside: (aside: boolean) => void;
  /** Which video the room's clock drives: the movie, this member's file, or none (someone else's stream shows). */
  follow: (target: HTMLVideoElement | undefined) => void;
  /** This member started or stopped streaming their file: the room should hear what they stream. */
  streamingChanged: () => void;
  /** The playback controls may change (the button's label and whether it may be used). */
  controlsChanged: () => void;
  /** A message for the member (a file that cannot be played). */
  say: (message: string) => void;
}

export class FileStream {
  /** Plays a file from this computer, or stops the one playing. */
  readonly button = h('button', { type: 'button' }, PLAY_LABEL);
  /** The hidden file picker the button opens. */
  readonly picker = h('input', { type: 'file', accept: 'video/*', hidden: true, 'aria-label': 'Video file from this computer' });
  /** Someone else's file, shown over the movie's place in the player. */
  readonly remoteVideo = h('video', { class: 'remote-file', autoplay: true, playsinline: true, hidden: true });
  readonly #stage: FileStage;
  /** This member's own file, while it plays instead of the movie. */
  #local: LocalFile | undefined;
  /** Someone's file this page shows instead of the movie. */
  #remoteFrom: { member: string; durationMs: number | undefined } | undefined;

  constructor(stage: FileStage) {
    this.#stage = stage;
    this.button.addEventListener('click', () => {
      if (this.#local !== undefined) this.stopOwn();
      else this.picker.click();
    });
    this.picker.addEventListener('change', () => {
      const file = this.picker.files?.[0];
      this.picker.value = '';
      if (file !== undefined) void this.#startOwn(file);
    });
  }

  /** Whether this member streams a file of their own. */
  get streaming(): boolean {
    return this.#local !== undefined;
  }

  /** Whether a file (this member's or someone else's) plays instead of the movie. */
  get showing(): boolean {
    return this.#local !== undefined || this.#remoteFrom !== undefined;
  }

  /** The length of the file that plays, when one does and its length is known. */
  durationMs(): number | undefined {
    return this.#local?.durationMs ?? this.#remoteFrom?.durationMs;
  }

  /**
   * Enables the button for someone who controls playback (`reason` says why
   * this member does not), while nobody else streams a file; stopping one's
   * own file is always possible.
   */
  refresh(controlReason: string | undefined): void {
    const noWebRtc = webRtcMissing();
    const reason = noWebRtc === undefined ? controlReason : `Streaming a file to the room needs WebRTC: ${noWebRtc}`;
    const { room } = this.#stage;
    const streamingFile = room.members.some((m) => m.id !== room.member && m.streaming.includes('file'));
    this.button.disabled = this.#local === undefined && (reason !== undefined || streamingFile);
    this.button.title = reason ?? (streamingFile ? 'Someone is streaming a file already' : '');
  }

  /**
   * The room refused something with `code`: when it refuses this member's
   * file (another one plays, or they no longer control playback), the file stops.
   */
  refused(code: string): void {
    if (code === 'file_in_use' || (code === 'not_allowed' && this.#local !== undefined)) this.stopOwn();
  }

  /** Someone's stream labelled "file" arrived, changed, or ended (`stream` undefined). */
  showRemote(member: string, stream: MediaStream | undefined, info: RemoteStreamInfo | undefined): void {
    const stage = this.#stage;
    if (stream === undefined) {
      if (this.#remoteFrom?.member !== member) return;
      this.#remoteFrom = undefined;
      this.remoteVideo.srcObject = null;
      this.remoteVideo.hidden = true;
      stage.movieAside(false);
      stage.follow(stage.movie);
      return;
    }
    const wasShowing = this.#remoteFrom !== undefined;
    this.#remoteFrom = { member, durationMs: info?.durationMs };
    if (this.remoteVideo.srcObject !== stream) this.remoteVideo.srcObject = stream;
    this.remoteVideo.hidden = false;
    void this.remoteVideo.play().catch(() => {});
    if (!wasShowing) {
      stage.movieAside(true);
      // A page showing someone's file stream has nothing of its own to keep in step.
      stage.follow(undefined);
    }
  }

  /** Stops this member's own file, if one plays: the movie comes back. */
  stopOwn(): void {
    if (this.#local === undefined) return;
    const stage = this.#stage;
    this.#local.close();
    this.#local = undefined;
    stage.mesh.setOutgoing('file', undefined);
    stage.streamingChanged();
    stage.movieAside(false);
    stage.follow(stage.movie);
    this.button.textContent = PLAY_LABEL;
    stage.controlsChanged();
  }

  async #startOwn(file: File): Promise<void> {
    const stage = this.#stage;
    let opened: LocalFile;
    try {
      opened = await LocalFile.open(file);
    } catch (error) {
      stage.say(error instanceof Error ? error.message : 'The file could not be played.');
      return;
    }
    this.stopOwn();
    this.#local = opened;
    this.remoteVideo.before(opened.video);
    stage.movieAside(true);
    stage.follow(opened.video);
    stage.mesh.setOutgoing('file', { stream: opened.stream, audience: 'room', durationMs: opened.durationMs });
    // Tracks appear as the file plays (sound once it starts): send them as they come.
    opened.stream.addEventListener('addtrack', () => stage.mesh.refresh());
    stage.streamingChanged();
    // Everyone starts the file from its beginning.
    stage.room.control({ action: 'seek', position_ms: 0 });
    this.button.textContent = `Stop playing ${opened.name}`;
    stage.controlsChanged();
  }
}
