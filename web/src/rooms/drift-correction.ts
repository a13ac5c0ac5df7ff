// How a member's player follows the room: within a dead band nothing is
// done; up to a couple of seconds off, the playback rate is nudged (0.95 to
// 1.05) so the error closes without a visible jump; beyond that, a seek. The
// dead band has two edges: a correction starts beyond the outer one and runs
// until the error is inside the inner one, so a steady offset just inside a
// single band (the tens of ms a player takes to start) is not left standing,
// and a corrected player does not flap at the edge. A cooldown after each
// seek lets the player settle before it is judged again.

export interface CorrectionPolicy {
  /** A player within ± this is left alone, ms. */
  deadBandMs: number;
  /** A correction under way goes on until the error is within ± this, ms. */
  settleWithinMs: number;
  /** Above this error a seek is cheaper than catching up by rate, ms. */
  seekAboveMs: number;
  minRate: number;
  maxRate: number;
  /** The error a rate nudge aims to close within this long, ms. */
  convergeOverMs: number;
  /** No judgement for this long after a seek, ms. */
  seekCooldownMs: number;
}

export const DEFAULT_CORRECTION: CorrectionPolicy = {
  deadBandMs: 25,
  settleWithinMs: 8,
  seekAboveMs: 2_000,
  minRate: 0.95,
  maxRate: 1.05,
  convergeOverMs: 1_500,
  seekCooldownMs: 1_500,
};

export type Correction = { kind: 'hold'; rate: 1 } | { kind: 'rate'; rate: number } | { kind: 'seek'; positionMs: number };

/**
 * The correction for a player at `localPositionMs` when the room is at
 * `roomPositionMs`; `msSinceSeek` is the time since this player's last seek,
 * `correcting` whether the last correction was a rate nudge.
 */
export function correct(
  localPositionMs: number,
  roomPositionMs: number,
  msSinceSeek: number,
  correcting = false,
  policy: CorrectionPolicy = DEFAULT_CORRECTION,
): Correction {
  const errorMs = localPositionMs - roomPositionMs;
  if (msSinceSeek < policy.seekCooldownMs) return { kind: 'hold', rate: 1 };
  const band = correcting ? policy.settleWithinMs : policy.deadBandMs;
  if (Math.abs(errorMs) <= band) return { kind: 'hold', rate: 1 };
  if (Math.abs(errorMs) > policy.seekAboveMs) return { kind: 'seek', positionMs: roomPositionMs };
  // Ahead (positive error) plays slower, behind plays faster.
  const rate = Math.min(policy.maxRate, Math.max(policy.minRate, 1 - errorMs / policy.convergeOverMs));
  return { kind: 'rate', rate };
}
