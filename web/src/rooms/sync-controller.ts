// Keeps a <video> on the room's clock. A scheduled start is timed to its
// server time exactly (a timer, not the next tick); while playing, the error
// between the video and the room is measured every tick and corrected as
// drift-correction.ts says: nothing in the dead band, a rate nudge, or a seek.
// Joining a playing room, or a seek while playing, would land late by the
// time the player takes to load and decode; so the video is paused at a
// point just ahead of the room ("armed") and started when the room gets
// there, with the lead doubled whenever the room overtakes it first. A
// scheduled start that finds the video not ready to play (still loading
// after a seek) arms too, rather than starting late and crawling back at 5 %;
// and a start that went out late anyway (a busy machine) is re-armed once.
import type { PlaybackState } from '../protocol/PlaybackState';
import { type CorrectionPolicy, correct, DEFAULT_CORRECTION } from './drift-correction';
import { positionAt } from './room-client';
import { HAVE_FUTURE_DATA, readyToStart } from './start-readiness';

const TICK_MS = 200;
/** How far ahead of the room an armed video waits, ms (doubled on each miss). */
const ARM_LEAD_MS = 600;
const ARM_LEAD_MAX_MS = 8_000;
/** A start this far off the room missed: armed again rather than nudged for seconds, ms. */
const START_MISS_MS = 150;
/** The video's events that say it holds more to play. */
const READY_EVENTS = ['loadeddata', 'canplay', 'canplaythrough'] as const;
/** How long after a start it is judged as a start, ms. */
const START_JUDGED_FOR_MS = 1_500;

export interface RoomClock {
  /** The server's clock now, ms. */
  serverNow: () => number;
  playback: PlaybackState | undefined;
  /** How this player is doing, every tick: ran dry while the room plays, and its error. */
  status?: (buffering: boolean, offsetMs: number | undefined) => void;
}

export class SyncController {
  readonly #video: HTMLVideoElement;
  readonly #room: RoomClock;
  readonly #policy: CorrectionPolicy;
  readonly #timer: ReturnType<typeof setInterval>;
  #startTimer: ReturnType<typeof setTimeout> | undefined;
  #appliedSeq = -1;
  /** The state whose scheduled start the pending timer is set for (-1 when none). */
  #scheduledSeq = -1;
  /** The state whose scheduled start the timer carried out. */
  #startedSeq = -1;
  #lastSeekAt = Number.NEGATIVE_INFINITY;
  /** The position the paused video waits at for the room, ms. */
  #armedAt: number | undefined;
  #armLead = ARM_LEAD_MS;
  /** Set once the video plays along with the room; cleared when it arms. */
  #following = false;
  /** Whether a rate nudge is under way (it runs until the error is nearly gone). */
  #correcting = false;
  /** When a timer last started the video (performance.now()), and for which state. */
  #lastStart: { at: number; seq: number; rearmed: boolean; lateMs: number } | undefined;
  #stopped = false;
  /** Video minus room, ms, at the last tick while playing (undefined otherwise). */
  errorMs: number | undefined;

  constructor(video: HTMLVideoElement, room: RoomClock, policy: CorrectionPolicy = DEFAULT_CORRECTION) {
    this.#video = video;
    this.#room = room;
    this.#policy = policy;
    this.#timer = setInterval(() => this.tick(), TICK_MS);
    for (const event of READY_EVENTS) video.addEventListener(event, this.#readyChanged);
  }

  /**
   * The video may now be able to start: said at once, not at the next tick.
   * A room's start waits for its last member, and a busy page decodes its
   * first frame a while after the data arrived: across emulated homes that
   * member said so 0.2-0.4 s after its first segment was in the buffer.
   */
  readonly #readyChanged = (): void => this.tick();

  /** For good: the video is left alone from now on. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
    for (const event of READY_EVENTS) this.#video.removeEventListener(event, this.#readyChanged);
    this.#cancelStart();
  }

  /** Puts the video back on the room's position now ("Sync now"). */
  resync(): void {
    const state = this.#room.playback;
    if (state === undefined || this.#stopped) return;
    const serverNow = this.#room.serverNow();
    const target = positionAt(state, serverNow);
    this.#setRate(1, false);
    if (state.playing && serverNow >= state.anchor_ms) {
      this.#video.pause();
      this.#arm(target);
    } else {
      this.#seek(target);
    }
  }

  /** Call when the room's state changed, so a scheduled start is timed at once. */
  stateChanged(): void {
    this.tick();
  }

  tick(): void {
    if (this.#stopped) return;
    this.#follow();
    const video = this.#video;
    // Whether the player could play on from here, whatever the room does now
    // (while the room waits for it, it must say when it is ready). While the
    // room is paused, a player that could not start at once says so, and the
    // room's next start waits for it instead of leaving it behind. While it
    // plays, only a player that has been following the room can fall behind
    // it: one that is joining, or armed after a seek of its own, is catching
    // up; one whose data was late for a start the room scheduled is waited for.
    const state = this.#room.playback;
    const paused = state !== undefined && (!state.playing || this.#room.serverNow() < state.anchor_ms);
    // A player armed for a start the room scheduled is judged as at a start.
    const armedForStart = this.#following && this.#armedAt !== undefined;
    const buffering =
      paused || armedForStart ? !readyToStart(this.#video) : this.#following && video.readyState < HAVE_FUTURE_DATA;
    this.#room.status?.(buffering, this.errorMs);
  }

  #follow(): void {
    const state = this.#room.playback;
    if (state === undefined) return;
    const serverNow = this.#room.serverNow();
    const target = positionAt(state, serverNow);
    const video = this.#video;
    const newState = state.seq !== this.#appliedSeq;
    this.#appliedSeq = state.seq;
    if (!state.playing || serverNow < state.anchor_ms) {
      // The start timer may fire a hair before this clock says the anchor
      // passed: a video it started is not paused again.
      if (state.playing && this.#startedSeq === state.seq) return;
      // A start the room took back (it waits for someone) does not go off.
      if (newState) this.#cancelStart();
      this.#armedAt = undefined;
      this.errorMs = undefined;
      this.#setRate(1, false);
      if (!video.paused) video.pause();
      if (Math.abs(video.currentTime * 1000 - target) > this.#policy.deadBandMs) this.#seek(target);
      if (state.playing && newState) {
        this.#scheduledSeq = state.seq;
        this.#startTimer = setTimeout(() => {
          this.#scheduledSeq = -1;
          this.#startedSeq = state.seq;
          if (readyToStart(this.#video)) this.#play(state.seq);
          // Everyone in the room was due to start: a player not ready is waited for.
          else this.#arm(positionAt(state, this.#room.serverNow()), true);
        }, state.anchor_ms - serverNow);
      }
      return;
    }
    // The tick can see the anchor pass a hair before the timer set for it
    // fires: the start is the timer's, on time, not a seek ahead to wait at.
    // A timer due much later than that was set on a clock since corrected
    // (a new offset): the video arms instead of waiting for it.
    if (this.#scheduledSeq === state.seq) {
      if (serverNow - state.anchor_ms < TICK_MS) return;
      this.#cancelStart();
    }
    if (this.#armedAt !== undefined) {
      this.#waitArmed(target);
      return;
    }
    // A start heard a little after its moment (the room schedules starts
    // just far enough ahead for its slowest member, and a busy page can take
    // longer): the video waits where the room starts, so it starts at once,
    // that little behind, and the rate catches up. Armed, it would start
    // 600 ms later still.
    if (
      video.paused &&
      newState &&
      serverNow - state.anchor_ms < START_MISS_MS &&
      Math.abs(video.currentTime * 1000 - state.position_ms) <= this.#policy.deadBandMs &&
      readyToStart(video)
    ) {
      this.#cancelStart();
      this.#startedSeq = state.seq;
      this.#play(state.seq, serverNow - state.anchor_ms);
      return;
    }
    if (video.paused) {
      this.#arm(target);
      return;
    }
    this.errorMs = video.currentTime * 1000 - target;
    this.#following = true;
    // Stalled for data: a seek would not bring it; the room waits for it instead.
    if (video.readyState < HAVE_FUTURE_DATA) return;
    const start = this.#lastStart;
    if (
      start !== undefined &&
      !start.rearmed &&
      start.seq === state.seq &&
      performance.now() - start.at < START_JUDGED_FOR_MS &&
      Math.abs(this.errorMs) > START_MISS_MS + start.lateMs
    ) {
      start.rearmed = true;
      this.#setRate(1, false);
      video.pause();
      this.#arm(target);
      return;
    }
    const sinceSeek = performance.now() - this.#lastSeekAt;
    const correction = correct(video.currentTime * 1000, target, sinceSeek, this.#correcting, this.#policy);
    switch (correction.kind) {
      case 'hold':
        this.#setRate(1, false);
        break;
      case 'rate':
        this.#setRate(correction.rate, true);
        break;
      case 'seek':
        this.#setRate(1, false);
        video.pause();
        this.#arm(correction.positionMs);
        break;
    }
  }

  #setRate(rate: number, correcting: boolean): void {
    // Setting the same rate again is not free in every browser: only changes are applied.
    if (this.#video.playbackRate !== rate) this.#video.playbackRate = rate;
    this.#correcting = correcting;
  }

  /**
   * Pauses the video a little ahead of the room, to start when the room gets
   * there. `stillFollowing`: the room should wait for this player if its data
   * stays late (a start the room scheduled), rather than leave it to catch up.
   */
  #arm(roomPositionMs: number, stillFollowing = false): void {
    // A start timed for where it waited before would play the video into this
    // seek, with nothing there yet to show: the new point times its own.
    this.#cancelStart();
    this.errorMs = undefined;
    this.#following = stillFollowing;
    this.#armedAt = roomPositionMs + this.#armLead;
    this.#seek(this.#armedAt);
  }

  #waitArmed(target: number): void {
    const armedAt = this.#armedAt ?? target;
    if (target > armedAt + this.#policy.deadBandMs) {
      // The room got there before the video was ready: wait further ahead.
      this.#armLead = Math.min(ARM_LEAD_MAX_MS, this.#armLead * 2);
      this.#arm(target, this.#following);
      return;
    }
    if (!readyToStart(this.#video)) return;
    this.#cancelStart();
    const seq = this.#room.playback?.seq ?? -1;
    this.#startTimer = setTimeout(() => {
      this.#armedAt = undefined;
      this.#play(seq);
    }, Math.max(0, armedAt - target));
  }

  /** Starts the video for state `seq`, `lateMs` after the room did (a start heard late: not a miss). */
  #play(seq: number, lateMs = 0): void {
    const rearmed = this.#lastStart?.seq === seq && this.#lastStart.rearmed;
    this.#lastStart = { at: performance.now(), seq, rearmed, lateMs };
    void this.#video.play().catch(() => {});
  }

  #cancelStart(): void {
    clearTimeout(this.#startTimer);
    this.#scheduledSeq = -1;
  }

  #seek(positionMs: number): void {
    this.#video.currentTime = positionMs / 1000;
    this.#lastSeekAt = performance.now();
  }
}
