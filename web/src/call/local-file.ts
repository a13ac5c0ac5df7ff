// A movie file from the host's own computer: it plays in a <video> of the
// host's page, which the room's clock drives like the catalog movie, and
// captureStream() turns what it plays (picture and sound) into a MediaStream
// the media mesh sends to everyone in the room. Nothing is uploaded.

interface CapturingVideo extends HTMLVideoElement {
  captureStream?: () => MediaStream;
}

export class LocalFile {
  readonly name: string;
  readonly video: HTMLVideoElement;
  readonly stream: MediaStream;
  readonly durationMs: number;
  readonly #url: string;

  private constructor(name: string, video: HTMLVideoElement, stream: MediaStream, url: string) {
    this.name = name;
    this.video = video;
    this.stream = stream;
    this.durationMs = video.duration * 1000;
    this.#url = url;
  }

  /** Opens `file` for playing; rejects with a message a person can act on. */
  static async open(file: File): Promise<LocalFile> {
    const video = document.createElement('video') as CapturingVideo;
    if (typeof video.captureStream !== 'function') throw new Error('This browser cannot stream a file to the room.');
    if (video.canPlayType(file.type) === '' && file.type !== '') {
      throw new Error(`This browser cannot play ${file.type} files; try an MP4 (H.264) or WebM file.`);
    }
    const url = URL.createObjectURL(file);
    video.src = url;
    video.playsInline = true;
    video.preload = 'auto';
    video.className = 'local-file';
    try {
      await new Promise<void>((resolve, reject) => {
        video.addEventListener('loadeddata', () => resolve(), { once: true });
        video.addEventListener('error', () => reject(new Error(`${file.name} could not be played here.`)), { once: true });
      });
    } catch (error) {
      URL.revokeObjectURL(url);
      throw error;
    }
    return new LocalFile(file.name, video, video.captureStream(), url);
  }

  close(): void {
    for (const track of this.stream.getTracks()) track.stop();
    this.video.pause();
    this.video.removeAttribute('src');
    this.video.load();
    this.video.remove();
    URL.revokeObjectURL(this.#url);
  }
}
