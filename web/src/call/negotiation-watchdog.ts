// What to do about a media link that is not getting anywhere. Signals go
// through the room socket, which can drop them (a reconnect, a full outbox),
// and a lost offer, answer or set of candidates leaves both browsers waiting
// for each other for ever: the pattern has no retry of its own. So a link
// that has not connected some time after its last negotiation step is
// nudged: an offer that got no answer is sent again (a lost answer gets the
// same cure: the other side answers the same offer again), and a negotiated
// link with no path restarts ICE, which renegotiates with fresh candidates.
// A connection that has gathered no candidate of its own at all, after an
// ICE restart too, is broken in the browser (seen in a symmetric-NAT home of
// the lab, one link among several): it is replaced by a new one. So is one
// that says it is gathering and has found nothing for seconds, when a healthy
// one finds its host candidates within milliseconds: restarts did not help
// those, and waiting for one let the other side's retries put the
// replacement off for half a minute.

export interface NegotiationTimings {
  /** How long an offer waits for its answer, and a negotiated link for its first ICE check, before a retry. */
  answerWaitMs: number;
  /** How long a link that is checking paths (or lost them) may take before an ICE restart. */
  connectWaitMs: number;
}

export const DEFAULT_NEGOTIATION_TIMINGS: NegotiationTimings = { answerWaitMs: 5_000, connectWaitMs: 15_000 };

/** A link as the watchdog sees it. */
export interface LinkProgress {
  signaling: RTCSignalingState;
  connection: RTCPeerConnectionState;
  /** Whether the link negotiates anything (a transceiver either way). */
  negotiates: boolean;
  /** Since the last description sent or received, or the last retry. */
  waitedMs: number;
  /** Retries since the link was last connected: each doubles the waits, up to 8 times. */
  retries: number;
  /** Candidates of this side gathered since the link was made. */
  gathered: number;
  /** How long the link has been gathering without finding a candidate, since it began or since the last retry, ms (0: not gathering, or found one). */
  silentGatheringMs: number;
}

/**
 * `resend-offer`: send the pending offer again; `restart-ice`: renegotiate
 * with fresh candidates; `rollback`: drop a remote offer this side never
 * answered, then restart; `recreate`: replace a connection that gathers
 * nothing; `undefined`: leave the link alone.
 */
export type Nudge = 'resend-offer' | 'restart-ice' | 'rollback' | 'recreate' | undefined;

export function nudgeFor(link: LinkProgress, timings: NegotiationTimings = DEFAULT_NEGOTIATION_TIMINGS): Nudge {
  if (!link.negotiates || link.connection === 'connected' || link.connection === 'closed') return undefined;
  // A member that is gone for good is not asked again every few seconds.
  const backOff = 2 ** Math.min(link.retries, 3);
  const answerWait = timings.answerWaitMs * backOff;
  if (link.connection === 'new' && link.silentGatheringMs > answerWait) return 'recreate';
  switch (link.signaling) {
    case 'have-local-offer':
      return link.waitedMs > answerWait ? 'resend-offer' : undefined;
    case 'stable': {
      // `new` after a full exchange means no candidate of the other side arrived.
      const wait = link.connection === 'new' ? answerWait : timings.connectWaitMs * backOff;
      if (link.waitedMs <= wait) return undefined;
      return link.connection === 'new' && link.gathered === 0 && link.retries > 0 ? 'recreate' : 'restart-ice';
    }
    case 'closed':
      return undefined;
    default:
      return link.waitedMs > answerWait ? 'rollback' : undefined;
  }
}
