import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { cuesAt, MAX_CUES, parseCueText, parseTimestamp, parseWebVtt, WebVttError } from '../../src/player/tracks/webvtt';

const FILE = `\uFEFFWEBVTT - made by ffmpeg\r\n\r\nNOTE a comment\r\nwith --> an arrow\r\n\r\n1\r\n00:01.000 --> 00:02.500\r\nHello <i>there</i>\r\n\r\n00:00:04.000 --> 00:00:05.000 line:0 align:center\r\nA sign\r\nat the top\r\n\r\n00:03.000 --> 00:03.000\r\nzero length\r\n\r\n00:06.000 --> 00:05.000\r\nbackwards\r\n`;

describe('WebVTT', () => {
  it('reads cue times in both timestamp forms', () => {
    expect(parseTimestamp('01:02:03.456')).toBeCloseTo(3723.456);
    expect(parseTimestamp('02:03.456')).toBeCloseTo(123.456);
    for (const bad of ['2:03.456', '00:60.000', '00:01,000', 'abc', '']) expect(parseTimestamp(bad), bad).toBeUndefined();
  });

  it('reads cues past notes, identifiers and settings, and drops cues that end before they start', () => {
    const cues = parseWebVtt(FILE);
    expect(cues.map((c) => [c.start, c.end, c.top])).toEqual([
      [1, 2.5, false],
      [4, 5, true],
    ]);
    expect(cues[0]?.nodes).toEqual([{ text: 'Hello ' }, { style: 'i', children: [{ text: 'there' }] }]);
    expect(cues[1]?.nodes).toEqual([{ text: 'A sign\nat the top' }]);
  });

  it('refuses what is not WebVTT', () => {
    expect(() => parseWebVtt('1\n00:00:01,000 --> 00:00:02,000\nSubRip\n')).toThrow(WebVttError);
    expect(() => parseWebVtt('\u0000\u0001binary')).toThrow(/not WebVTT/);
  });

  it('keeps italic, bold and underline, reads through other tags and never yields markup', () => {
    expect(parseCueText('<v Roger>Hi <b>you</b></v> &amp; <c.yellow>&lt;script&gt;</c>')).toEqual([
      { text: 'Hi ' },
      { style: 'b', children: [{ text: 'you' }] },
      { text: ' & ' },
      { text: '<script>' },
    ]);
    expect(parseCueText('<i>open <b>never closed')).toEqual([{ style: 'i', children: [{ text: 'open ' }, { style: 'b', children: [{ text: 'never closed' }] }] }]);
    expect(parseCueText('karaoke <00:00:01.000>word a < b')).toEqual([{ text: 'karaoke ' }, { text: 'word a ' }, { text: '< b' }]);
    expect(parseCueText('&#x1F600; &#0; &bogus;')).toEqual([{ text: '\u{1F600} &#0; &bogus;' }]);
  });

  it('stops at its cue limit', () => {
    const many = 'WEBVTT\n\n' + Array.from({ length: MAX_CUES + 10 }, (_, i) => `${stamp(i)} --> ${stamp(i + 0.5)}\nx`).join('\n\n');
    expect(parseWebVtt(many)).toHaveLength(MAX_CUES);
  });

  it('finds the cues showing at a time, overlapping ones too', () => {
    const cues = parseWebVtt('WEBVTT\n\n00:01.000 --> 00:10.000\nlong\n\n00:02.000 --> 00:03.000\nshort\n\n00:04.000 --> 00:05.000\nlater\n');
    const texts = (t: number): string[] => cuesAt(cues, t).map((c) => (c.nodes[0] as { text: string }).text);
    expect(texts(0.5)).toEqual([]);
    expect(texts(2.5)).toEqual(['long', 'short']);
    expect(texts(3)).toEqual(['long']);
    expect(texts(4.2)).toEqual(['long', 'later']);
    expect(texts(10)).toEqual([]);
  });

  it('reads what ffmpeg makes of a subtitle track at ingest', () => {
    // testdata/tracks/en.vtt: ffmpeg's WebVTT of en.srt (mm:ss.ttt timestamps).
    const vtt = readFileSync(new URL('../../../testdata/tracks/en.vtt', import.meta.url), 'utf8');
    const cues = parseWebVtt(vtt);
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [1, 2.5],
      [4, 5],
      [7, 8],
    ]);
    expect(cues[1]?.nodes).toEqual([{ style: 'i', children: [{ text: 'The second line' }] }]);
  });
});

function stamp(secs: number): string {
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${s.toFixed(3).padStart(6, '0')}`;
}
