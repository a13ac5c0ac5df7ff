// Where a segment comes from. HTTP is the floor: the first chunk after a start
// or seek, anything due soon, and whatever no peer can deliver in time come
// from the segment server; peers serve the rest. A transfer from a peer is
// abandoned for HTTP early enough that playback does not stall.

export interface SourceInput {
  /** P2P switched off (privacy): everything over HTTP. */
  p2pEnabled: boolean;
  /** Inside the initial chunk after a start or seek (default: the first ~10 s). */
  inInitialChunk: boolean;
  /** Seconds until the player needs the segment (its start minus the playhead). */
  secondsUntilNeeded: number;
  segmentBytes: number;
  /** Peers the tracker named as holders. */
  holders: number;
  /** Measured throughput of the best holder, bytes/s; undefined before any transfer. */
  peerBytesPerSecond: number | undefined;
  /** The room's fetch plan names this viewer to fetch it over HTTP for everyone. */
  fetchesForRoom?: boolean;
  /**
   * Needed now (initial chunk or due soon), and the room's plan names another
   * member to fetch it: that member's copy is as quick as HTTP shared with
   * the whole room, so the holders found are used whatever the deadline.
   */
  fromRoomFetcher?: boolean;
}

export interface SourcePolicy {
  /** Below this many seconds of slack, go straight to HTTP. */
  httpDeadlineSecs: number;
  /** A peer must be projected to finish within this share of the time left. */
  peerSafetyShare: number;
  /** Throughput assumed for a peer never measured, bytes/s. */
  assumedPeerBytesPerSecond: number;
}

export const DEFAULT_POLICY: SourcePolicy = {
  httpDeadlineSecs: 4,
  peerSafetyShare: 0.5,
  // Chromium data channels here move 3–10 MB/s; assume far less until measured.
  assumedPeerBytesPerSecond: 1_000_000,
};

/**
 * Whether a seek from `from` to `to` starts a new initial chunk. A jump does;
 * a nudge within one chunk's length (the room's sync corrections, a restart
 * after a stall) does not: restarting the window there would keep a slow
 * origin serving everything and P2P would never start.
 */
export function startsInitialChunk(from: number | undefined, to: number, chunkSecs: number): boolean {
  return from === undefined || Math.abs(to - from) > chunkSecs;
}

export interface RoomFetcherInput {
  /** The segment is not needed for a while. */
  early: boolean;
  /** A link to one of the room's fetchers is open, and that fetcher did not go silent on it. */
  fetcherLinked: boolean;
  /** Every fetcher this page is linked to went silent on its last transfers. */
  fetchersSilent: boolean;
  /** The player holds the second it plays. */
  playerHoldsData: boolean;
}

/**
 * How long a load waits for the member the room's plan names to fetch its
 * segment: while there is time for a segment not needed yet; briefly for
 * one needed now (only a link already open is then used, and the links come
 * up within a second or two). Not at all for the player's first load when
 * no fetcher is linked yet (the room's start: the room starts when its last
 * member has that segment, and the wait only held up its fetch over HTTP),
 * nor when every linked fetcher went silent (the wait would end in HTTP
 * anyway, seconds later).
 */
export function roomFetcherWait(input: RoomFetcherInput): 'while_in_time' | 'briefly' | 'no' {
  if (input.fetchersSilent) return 'no';
  if (input.early) return 'while_in_time';
  return input.fetcherLinked || input.playerHoldsData ? 'briefly' : 'no';
}

export type SourceDecision =
  | { source: 'peer' }
  | { source: 'http'; reason: 'p2p_off' | 'initial_chunk' | 'due_soon' | 'no_holder' | 'assigned' | 'peer_too_slow' };

export function chooseSource(input: SourceInput, policy: SourcePolicy = DEFAULT_POLICY): SourceDecision {
  if (!input.p2pEnabled) return { source: 'http', reason: 'p2p_off' };
  if (input.fromRoomFetcher === true) return input.holders > 0 ? { source: 'peer' } : { source: 'http', reason: 'no_holder' };
  if (input.inInitialChunk) return { source: 'http', reason: 'initial_chunk' };
  if (input.secondsUntilNeeded < policy.httpDeadlineSecs) return { source: 'http', reason: 'due_soon' };
  if (input.holders === 0) return { source: 'http', reason: input.fetchesForRoom === true ? 'assigned' : 'no_holder' };
  const rate = input.peerBytesPerSecond ?? policy.assumedPeerBytesPerSecond;
  const projected = input.segmentBytes / Math.max(rate, 1);
  if (projected > input.secondsUntilNeeded * policy.peerSafetyShare) return { source: 'http', reason: 'peer_too_slow' };
  return { source: 'peer' };
}

export interface TransferProgress {
  segmentBytes: number;
  bytesReceived: number;
  secondsElapsed: number;
  /** Seconds since the last chunk arrived. */
  secondsSinceProgress: number;
  /** Seconds until the player needs the segment, now. */
  secondsUntilNeeded: number;
}

export interface AbandonPolicy {
  /** No chunk for this long: the peer has stalled, whatever the time left. */
  stallSecs: number;
  /** Time kept in reserve for the HTTP fallback to finish. */
  httpReserveSecs: number;
  /** Before the first byte: the rate a transfer is assumed to run at once it starts, bytes/s. */
  assumedBytesPerSec: number;
  /**
   * HTTP's recent rate to this viewer, bytes/s, for a transfer the player
   * waits on (no reserve is kept for HTTP then): one that crawls so slowly
   * that HTTP would clearly bring the rest sooner is given up all the same.
   */
  httpBytesPerSec?: number | undefined;
}

/** A transfer is judged against HTTP only after this long: its first bytes say little of its rate, s. */
const CRAWL_JUDGED_AFTER_SECS = 0.8;
/** What an HTTP fetch takes before its first byte, counted on top of its rate, s. */
const HTTP_FIRST_BYTE_SECS = 0.5;
/** A transfer is crawling when it would take this many times as long as HTTP for the rest. */
const CRAWL_FACTOR = 2;

/**
 * 1.5 s of silence ends a transfer whatever the deadline: hls.js loads one
 * fragment at a time, so a transfer waiting on a dead link holds up every
 * load behind it. Waiting up to 4 s instead changed nothing measurable
 * between homes, and a home whose link came back after 10 s took 5-7 s
 * instead of under 3 to catch up (its links' first transfers were silent).
 */
export const DEFAULT_ABANDON: AbandonPolicy = { stallSecs: 1.5, httpReserveSecs: 3, assumedBytesPerSec: 125_000 };

/** Whether to give up on a peer transfer and fetch over HTTP, and why. */
export function shouldAbandon(
  progress: TransferProgress,
  policy: AbandonPolicy = DEFAULT_ABANDON,
): 'no_first_byte' | 'stalled' | 'late' | undefined {
  const started = progress.bytesReceived > 0;
  if (progress.secondsSinceProgress >= policy.stallSecs) return started ? 'stalled' : 'no_first_byte';
  const remaining = progress.segmentBytes - progress.bytesReceived;
  // Before the first byte there is no rate to project: would it be in time if it started now?
  const rate = started ? progress.bytesReceived / Math.max(progress.secondsElapsed, 0.001) : policy.assumedBytesPerSec;
  const projected = rate > 0 ? remaining / rate : Number.POSITIVE_INFINITY;
  if (projected > progress.secondsUntilNeeded - policy.httpReserveSecs) return started ? 'late' : 'no_first_byte';
  // Across a 300 ms round trip with loss, a transfer the player waited on
  // moved at 0.3 Mbit/s: 5 s for a segment HTTP brought in 1 s, and a stall.
  const http = policy.httpBytesPerSec;
  if (started && http !== undefined && http > 0 && progress.secondsElapsed >= CRAWL_JUDGED_AFTER_SECS) {
    const overHttp = HTTP_FIRST_BYTE_SECS + remaining / http;
    if (projected > Math.max(progress.secondsUntilNeeded, 0) && projected > CRAWL_FACTOR * overHttp) return 'late';
  }
  return undefined;
}
