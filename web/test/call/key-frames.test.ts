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
  const timings = { stuckForMs: 600, askEveryMs: 1_500 };

  it('asks once packets have come without frames for a while, then not again within the pause between asks', () => {
    const judge = new FrozenVideoJudge(timings);
    expect(judge.look(videos(['v', 100, 30]), 0), 'a first look has nothing to compare').toBe(false);
    expect(judge.look(videos(['v', 140, 30]), 250), 'stuck for 250 ms: a frame may be on its way').toBe(false);
    expect(judge.look(videos(['v', 180, 30]), 500)).toBe(false);
    expect(judge.look(videos(['v', 220, 30]), 750), 'stuck for 750 ms').toBe(true);
    expect(judge.look(videos(['v', 260, 30]), 1_000), 'asked 250 ms ago').toBe(false);
    expect(judge.look(videos(['v', 300, 30]), 2_000), 'asked 1250 ms ago').toBe(false);
    expect(judge.look(videos(['v', 340, 30]), 2_250), 'still stuck 1.5 s later').toBe(true);
    expect(judge.look(videos(['v', 380, 45]), 4_000), 'frames again').toBe(false);
  });

  it('starts counting again after a look with frames, or without packets', () => {
    const judge = new FrozenVideoJudge(timings);
    judge.look(videos(['v', 100, 30]), 0);
    judge.look(videos(['v', 140, 30]), 250);
    judge.look(videos(['v', 180, 31]), 500);
    expect(judge.look(videos(['v', 220, 31]), 750), 'stuck for 250 ms since the frame').toBe(false);
    expect(judge.look(videos(['v', 220, 31]), 1_000), 'no packets: the path, not the decoder').toBe(false);
    expect(judge.look(videos(['v', 260, 31]), 1_250)).toBe(false);
    expect(judge.look(videos(['v', 300, 31]), 1_500)).toBe(false);
    expect(judge.look(videos(['v', 340, 31]), 1_750)).toBe(true);
  });

  it('compares nothing across a reset', () => {
    const judge = new FrozenVideoJudge(timings);
    judge.look(videos(['v', 100, 30]), 0);
    judge.look(videos(['v', 140, 30]), 250);
    judge.look(videos(['v', 180, 30]), 500);
    judge.reset();
    expect(judge.look(videos(['v', 400, 30]), 750), 'the first look of a new watch').toBe(false);
    expect(judge.look(videos(['v', 440, 30]), 1_000)).toBe(false);
    expect(judge.look(videos(['v', 480, 30]), 1_250)).toBe(false);
    expect(judge.look(videos(['v', 520, 30]), 1_500)).toBe(true);
  });
});
