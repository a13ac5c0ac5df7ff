// When a link's incoming video counts as stuck (packets without decoded
// frames), and how often its sender is asked for a key frame then.
import { describe, expect, it } from 'vitest';

import { FrozenVideoJudge, inboundVideos, packetsWithoutFrames } from '../../src/call/key-frames';

const videos = (...entries: [string, number, number][]): Map<string, { packets: number; frames: number }> =>
  new Map(entries.map(([id, packets, frames]) => [id, { packets, frames }]));

describe('incoming video', () => {
  it('is read from the inbound video entries only', () => {
    const stats = [
      { type: 'inbound-rtp', id: 'v', kind: 'video', packetsReceived: 120, framesDecoded: 30 },
      { type: 'inbound-rtp', id: 'a', kind: 'audio', packetsReceived: 500 },
      { type: 'outbound-rtp', id: 'o', kind: 'video', packetsSent: 99 },
      { type: 'inbound-rtp', id: 'w', kind: 'video' },
    ];
    expect(inboundVideos(stats)).toEqual(videos(['v', 120, 30], ['w', 0, 0]));
  });

  it('is stuck when packets came and no frame decoded', () => {
    expect(packetsWithoutFrames(videos(['v', 100, 30]), videos(['v', 140, 30]))).toBe(true);
    expect(packetsWithoutFrames(videos(['v', 100, 30]), videos(['v', 140, 31])), 'a frame decoded').toBe(false);
    expect(packetsWithoutFrames(videos(['v', 100, 30]), videos(['v', 103, 30])), 'a few packets: part of one frame').toBe(false);
    expect(packetsWithoutFrames(videos(['v', 100, 30]), videos(['v', 100, 30])), 'no packets: the path, not the decoder').toBe(false);
    expect(packetsWithoutFrames(videos(['v', 100, 30]), videos(['w', 140, 30])), 'a video not seen before').toBe(false);
    expect(packetsWithoutFrames(videos(['v', 100, 30], ['w', 10, 5]), videos(['v', 150, 40], ['w', 60, 5])), 'one of two').toBe(true);
  });
});

describe('the judge', () => {
  it('asks once the video is stuck, then not again within the pause between asks', () => {
    const judge = new FrozenVideoJudge(1_000);
    expect(judge.look(videos(['v', 100, 30]), 0), 'a first look has nothing to compare').toBe(false);
    expect(judge.look(videos(['v', 140, 30]), 250)).toBe(true);
    expect(judge.look(videos(['v', 180, 30]), 500), 'asked 250 ms ago').toBe(false);
    expect(judge.look(videos(['v', 220, 30]), 1_000), 'asked 750 ms ago').toBe(false);
    expect(judge.look(videos(['v', 260, 30]), 1_250), 'still stuck a second later').toBe(true);
    expect(judge.look(videos(['v', 300, 45]), 2_500), 'frames again').toBe(false);
  });

  it('compares nothing across a reset', () => {
    const judge = new FrozenVideoJudge(1_000);
    judge.look(videos(['v', 100, 30]), 0);
    judge.reset();
    expect(judge.look(videos(['v', 400, 30]), 250)).toBe(false);
    expect(judge.look(videos(['v', 440, 30]), 500)).toBe(true);
  });
});
