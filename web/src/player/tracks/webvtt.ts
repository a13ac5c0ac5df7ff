// A WebVTT reader for the page's own subtitles: cue times, and text with the
// styling a subtitle needs (italic, bold, underline, line breaks). Everything
// else in the format (classes, voices, ruby, regions, styles) is read past and
// its text kept. The result is data, drawn with textContent: nothing in a
// file ever reaches the page as markup.

export type CueNode = { text: string } | { style: 'i' | 'b' | 'u'; children: CueNode[] };

export interface Cue {
  /** Seconds into the movie. */
  start: number;
  end: number;
  nodes: CueNode[];
  /** Placed at the top (a `line` setting in the upper half): signs, or lines over burnt-in text. */
  top: boolean;
}

/** Cues read from one file, at most: a feature film has 1,000-2,000. */
export const MAX_CUES = 20_000;
/** Characters of one cue's text kept, at most. */
const MAX_CUE_CHARS = 2_000;
/** Nesting of tags followed, at most. */
const MAX_DEPTH = 8;

export class WebVttError extends Error {
  constructor(readonly code: 'not_webvtt', message: string) {
    super(message);
  }
}

const TIMESTAMP = /^(?:(\d+):)?([0-5]\d):([0-5]\d)\.(\d{3})$/;

/** Seconds of a WebVTT timestamp (`01:02:03.456` or `02:03.456`), or undefined. */
export function parseTimestamp(text: string): number | undefined {
  const match = TIMESTAMP.exec(text.trim());
  if (match === null) return undefined;
  const [, hours, minutes, seconds, millis] = match;
  return Number(hours ?? 0) * 3600 + Number(minutes) * 60 + Number(seconds) + Number(millis) / 1000;
}

export function parseWebVtt(source: string): Cue[] {
  const text = source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (!/^WEBVTT(?:[ \t\n]|$)/.test(text)) throw new WebVttError('not_webvtt', 'the subtitle file is not WebVTT');
  const cues: Cue[] = [];
  for (const block of text.split(/\n{2,}/).slice(1)) {
    if (cues.length >= MAX_CUES) break;
    const lines = block.split('\n');
    const timing = lines.findIndex((line) => line.includes('-->'));
    // A cue's timing is its first line, or its second after an identifier.
    if (timing === -1 || timing > 1) continue;
    const [startText = '', rest = ''] = (lines[timing] ?? '').split('-->');
    const [endText = '', ...settings] = rest.trim().split(/[ \t]+/);
    const start = parseTimestamp(startText);
    const end = parseTimestamp(endText);
    if (start === undefined || end === undefined || end <= start) continue;
    const body = lines.slice(timing + 1).join('\n').replace(/\n+$/, '').slice(0, MAX_CUE_CHARS);
    cues.push({ start, end, nodes: parseCueText(body), top: placedAtTop(settings) });
  }
  return cues.sort((a, b) => a.start - b.start);
}

/** `line:0`, `line:2` or `line:10%`: in the upper half of the picture. */
function placedAtTop(settings: string[]): boolean {
  const line = settings.find((s) => s.startsWith('line:'))?.slice(5).split(',')[0];
  if (line === undefined) return false;
  if (line.endsWith('%')) return Number(line.slice(0, -1)) < 50;
  const number = Number(line);
  return Number.isFinite(number) && number >= 0 && number < 4;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', nbsp: '\u00a0', lrm: '\u200e', rlm: '\u200f', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isInteger(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

/** A cue's text as nodes: `<i>`, `<b>` and `<u>` kept, every other tag read through. */
export function parseCueText(text: string): CueNode[] {
  const root: CueNode[] = [];
  const stack: { tag: string; children: CueNode[] }[] = [{ tag: '', children: root }];
  const current = (): CueNode[] => stack[stack.length - 1]?.children ?? root;
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('<', at);
    const plain = text.slice(at, open === -1 ? text.length : open);
    if (plain !== '') current().push({ text: decodeEntities(plain) });
    if (open === -1) break;
    const close = text.indexOf('>', open);
    if (close === -1) {
      current().push({ text: decodeEntities(text.slice(open)) });
      break;
    }
    const tag = text.slice(open + 1, close).trim();
    at = close + 1;
    const name = (tag.startsWith('/') ? tag.slice(1) : tag).split(/[\s.]/)[0]?.toLowerCase() ?? '';
    if (tag.startsWith('/')) {
      // Closes the innermost open tag of that name, and any left open inside it.
      const index = stack.map((s) => s.tag).lastIndexOf(name);
      if (index > 0) stack.length = index;
    } else if (/^\d/.test(name) || stack.length > MAX_DEPTH) {
      // A karaoke timestamp, or nesting past reason: no element.
    } else if (name === 'i' || name === 'b' || name === 'u') {
      const node = { style: name, children: [] as CueNode[] } as const;
      current().push(node);
      stack.push({ tag: name, children: node.children });
    } else if (name !== '') {
      // c, v, lang, ruby, rt: their text stays, in the element around them.
      stack.push({ tag: name, children: current() });
    }
  }
  return root;
}

/** The cues showing at `seconds`, from cues sorted by start. */
export function cuesAt(cues: readonly Cue[], seconds: number): Cue[] {
  // The first cue starting after `seconds`, by bisection.
  let [low, high] = [0, cues.length];
  while (low < high) {
    const mid = (low + high) >> 1;
    if ((cues[mid]?.start ?? 0) <= seconds) low = mid + 1;
    else high = mid;
  }
  const showing: Cue[] = [];
  // Cues overlap little: a look back over the last few hundred finds every one still showing.
  for (let i = low - 1; i >= 0 && i >= low - 256; i--) {
    const cue = cues[i];
    if (cue !== undefined && cue.end > seconds) showing.unshift(cue);
  }
  return showing;
}
