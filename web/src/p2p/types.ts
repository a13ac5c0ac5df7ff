// The P2P loader's contract: what a page configures, and what it can observe.
// Everything else under src/p2p/ is internal.
import type { RoomServerMessage } from '../protocol/RoomServerMessage';

/** How the loader behaves; every field has a default (DEFAULT_P2P_CONFIG). */
export interface P2PConfig {
  /** Off (privacy): every segment over HTTP, never announced, no peer connections. */
  p2p: boolean;
  /** Off (metered connection): download from peers but serve none. */
  upload: boolean;
  /** Bytes of segments kept for playback and uploads, besides the pinned window. */
  cacheMiB: number;
  /** Most peers linked at once. */
  maxPeers: number;
  /** Connections to one peer at once (1 to MAX_LANES), each with its own congestion window. */
  peerLanes: number;
  /** After a start or a seek, this many seconds come over HTTP (fast first frame). */
  initialChunkSecs: number;
  /** A segment due within this many seconds comes over HTTP. */
  httpDeadlineSecs: number;
  /** Total upload cap, bytes/s (0: none). */
  uploadBytesPerSec: number;
  /** Upload cap towards one peer, bytes/s (0: none). */
  peerUploadBytesPerSec: number;
  /** A peer connection unused for this long is closed, seconds. */
  peerIdleSecs: number;
  /** A peer connection not open after this long has failed, ms. */
  connectTimeoutMs: number;
  /** RTCPeerConnection ICE servers (the catalog hands them out with the tracker token). */
  iceServers: RTCIceServer[];
}

export const DEFAULT_P2P_CONFIG: P2PConfig = {
  p2p: true,
  upload: true,
  cacheMiB: 128,
  maxPeers: 8,
  peerLanes: 3,
  initialChunkSecs: 6,
  httpDeadlineSecs: 4,
  uploadBytesPerSec: 4_000_000,
  peerUploadBytesPerSec: 2_000_000,
  peerIdleSecs: 60,
  connectTimeoutMs: 4_000,
  iceServers: [],
};

/** Where a segment handed to the player came from. */
export type SegmentSource = 'http' | 'peer' | 'cache';

/** Why a segment went to HTTP rather than to a peer. */
export type HttpReason =
  | 'p2p_off'
  /** The room's fetch plan names this viewer to fetch it for everyone. */
  | 'assigned'
  | 'init_segment'
  | 'initial_chunk'
  | 'due_soon'
  | 'no_holder'
  /** Peer attempts failed three times in a row, none delivered since, and the player needs it within 10 s (peer-outlook.ts). */
  | 'peers_failing'
  | 'peer_too_slow'
  | 'connect_failed'
  | 'absent'
  /** The peer sent nothing for too long: it never started (busy with others' requests), or stopped. */
  | 'no_first_byte'
  | 'stalled'
  | 'late'
  | 'peer_closed'
  | 'bad_hash';

/** One peer as the stats show it. */
export interface PeerStats {
  id: string;
  state: 'connecting' | 'open' | 'closed';
  /** Connections to it open now (lanes). */
  lanes: number;
  downloadedBytes: number;
  uploadedBytes: number;
  /** Throughput of the last transfer from this peer, bytes/s. */
  downloadBytesPerSec: number;
  /** Requests from us waiting on this peer. */
  inFlight: number;
  /** Bytes received for those requests so far. */
  inFlightBytes: number;
}

/** A snapshot of the loader, emitted as a `stats` event about once a second. */
export interface P2PStats {
  /** Our id on the tracker ('' while not connected). */
  peerId: string;
  httpBytes: number;
  peerBytes: number;
  uploadedBytes: number;
  /** Of httpBytes and peerBytes: an audio track's own segments (a movie with several languages). */
  audioHttpBytes: number;
  audioPeerBytes: number;
  /** The audio rendition the player loads beside the video; absent while none (or the audio is muxed). */
  audioRendition?: string;
  /** Whether that audio rendition's fetching is split under the room's plan (other members play it too). */
  audioPlanned: boolean;
  /** peerBytes / (httpBytes + peerBytes); 0 before any download. */
  peerShare: number;
  /** Segments handed to the player, by source. */
  segments: Record<SegmentSource, number>;
  /** Segments that went to HTTP, by reason. */
  httpReasons: Partial<Record<HttpReason, number>>;
  /** Segments from peers whose SHA-256 was not the catalog's. */
  verificationFailures: number;
  /** Peers a link was tried to in the last two minutes and never opened (their NAT and ours). */
  unreachablePeers: number;
  /** Segments a peer began and HTTP finished (only the rest came over HTTP). */
  completedOverHttp: number;
  /** HTTP loads given up because they brought nothing for seconds (a dead connection), and made again. */
  silentHttpLoads: number;
  /** How the waits for the room fetchers' copies ended (`RoomPlan.waitEnds`; the video's and the audio's plans together). */
  fetcherWaits: Record<string, number>;
  /** Peers disconnected and never contacted again (they sent bad data). */
  banned: string[];
  peers: PeerStats[];
  cacheBytes: number;
  trackerConnected: boolean;
}

/** Emitted for every segment handed to the player. */
export interface SegmentLoaded {
  rendition: string;
  sequence: number;
  bytes: number;
  source: SegmentSource;
  /** The peer it came from, for `peer`. */
  peer?: string;
  /** Why it went to HTTP, for `http`. */
  reason?: HttpReason;
}

export interface P2PEventMap {
  stats: CustomEvent<P2PStats>;
  segment: CustomEvent<SegmentLoaded>;
}

/** The room's fetch plans (the video's, and each shared audio rendition's), as its `fetch_plan` message has them. */
export type RoomFetchPlans = Omit<Extract<RoomServerMessage, { type: 'fetch_plan' }>, 'type'>;
