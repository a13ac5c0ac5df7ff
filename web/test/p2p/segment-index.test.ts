import { describe, expect, it } from 'vitest';

import { SegmentIndex } from '../../src/p2p/segment-index';
import { toRanges } from '../../src/p2p/tracker-session';

const index = new SegmentIndex({
  movie_id: 'm1',
  renditions: [{ name: '720p', kind: 'video', durations_ms: [2000, 2000, 1500], sizes_bytes: [10, 20, 30], sha256: ['a', 'b', 'c'] }],
});

describe('segment index', () => {
  it('gives each segment its size, hash and start time', () => {
    expect(index.get('720p', 2)).toEqual({ sizeBytes: 30, sha256: 'c', startSecs: 4, durationSecs: 1.5 });
    expect(index.get('720p', 3)).toBeUndefined();
    expect(index.get('360p', 0)).toBeUndefined();
  });

  it('finds the segment playing at a time', () => {
    expect([0, 1.99, 2, 5.4, 99].map((t) => index.sequenceAt('720p', t))).toEqual([0, 0, 1, 2, 2]);
  });

  it('reads the rendition from a segment URL, absolute or not', () => {
    expect(index.renditionOfUrl('http://h:1/media/m1/720p/seg_00001.ts')).toBe('720p');
    expect(index.renditionOfUrl('/media/m1/720p/seg_00001.ts')).toBe('720p');
    expect(index.renditionOfUrl('/media/m1/1080p/seg_00001.ts')).toBeUndefined();
  });
});

describe('holdings as ranges', () => {
  it('merges runs, sorts and drops repeats', () => {
    expect(toRanges([5, 1, 2, 3, 9, 3, 10])).toEqual([[1, 3], [5, 5], [9, 10]]);
    expect(toRanges([])).toEqual([]);
  });

  it('knows audio tracks from video renditions', () => {
    const withAudio = new SegmentIndex({
      movie_id: 'm2',
      renditions: [
        { name: '360p', kind: 'video', durations_ms: [2000], sizes_bytes: [10], sha256: ['a'] },
        { name: 'audio-fr', kind: 'audio', durations_ms: [2000], sizes_bytes: [3], sha256: ['b'] },
      ],
    });
    expect(withAudio.isAudio('audio-fr')).toBe(true);
    expect(withAudio.isAudio('360p')).toBe(false);
    expect(withAudio.renditionOfUrl('/media/m2/audio-fr/seg_00000.ts')).toBe('audio-fr');
  });
});
