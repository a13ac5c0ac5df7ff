// Who is speaking: the loudest audio stream in the call, measured from each
// stream's level a few times a second. A speaker stays the speaker for a
// moment after going quiet, so the highlight does not flicker between words.

/** RMS level (0..1) under which a stream counts as silent. */
const SPEAKING_LEVEL = 0.02;
const MEASURE_EVERY_MS = 200;
const HOLD_MS = 800;

interface Source {
  node: MediaStreamAudioSourceNode;
  analyser: AnalyserNode;
  samples: Float32Array<ArrayBuffer>;
}

export class ActiveSpeaker {
  readonly #context = new AudioContext();
  readonly #sources = new Map<string, Source>();
  readonly #timer: ReturnType<typeof setInterval>;
  #speaker: string | undefined;
  #heardAt = 0;

  /** `onChange` gets the id of the new speaker (undefined: nobody). */
  constructor(onChange: (speaker: string | undefined) => void) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      let loudest: { id: string; level: number } | undefined;
      for (const [id, source] of this.#sources) {
        const level = rms(source);
        if (level >= SPEAKING_LEVEL && (loudest === undefined || level > loudest.level)) loudest = { id, level };
      }
      if (loudest !== undefined) this.#heardAt = now;
      const next = loudest?.id ?? (now - this.#heardAt < HOLD_MS ? this.#speaker : undefined);
      if (next !== this.#speaker) {
        this.#speaker = next;
        onChange(next);
      }
    }, MEASURE_EVERY_MS);
  }

  /** Measures `stream` (its audio) as `id`'s voice; undefined stops measuring it. */
  listen(id: string, stream: MediaStream | undefined): void {
    const current = this.#sources.get(id);
    if (current !== undefined) {
      current.node.disconnect();
      this.#sources.delete(id);
    }
    if (stream === undefined || stream.getAudioTracks().length === 0) return;
    void this.#context.resume().catch(() => {});
    const node = this.#context.createMediaStreamSource(stream);
    const analyser = this.#context.createAnalyser();
    // A window longer than the interval between measurements (about 340 ms at
    // 48 kHz): no syllable falls between two looks.
    analyser.fftSize = 16_384;
    node.connect(analyser);
    this.#sources.set(id, { node, analyser, samples: new Float32Array(analyser.fftSize) });
  }

  close(): void {
    clearInterval(this.#timer);
    for (const source of this.#sources.values()) source.node.disconnect();
    this.#sources.clear();
    void this.#context.close().catch(() => {});
  }
}

function rms({ analyser, samples }: Source): number {
  analyser.getFloatTimeDomainData(samples);
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return Math.sqrt(sum / samples.length);
}
