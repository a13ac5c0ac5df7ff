// What carried a connection (its selected candidate pair), reported to the
// server each time a connection connects: `/metrics` then shows how many
// links went direct and how many through TURN.
import type { IcePair } from '../protocol/IcePair';

const FARTHER_FIRST: IcePair[] = ['relay', 'prflx', 'srflx', 'host'];

/** The pair's kind by its farther candidate (relay, then prflx, srflx, host); undefined for unknown types. */
export function pairKind(localType: unknown, remoteType: unknown): IcePair | undefined {
  return FARTHER_FIRST.find((kind) => kind === localType || kind === remoteType);
}

interface StatsEntry {
  type: string;
  id: string;
  selectedCandidatePairId?: string;
  localCandidateId?: string;
  remoteCandidateId?: string;
  candidateType?: string;
  nominated?: boolean;
  state?: string;
}

/** The candidate types of the pair `stats` (an RTCStatsReport's values) says carries the connection. */
function selectedPair(stats: Iterable<StatsEntry>): { local: unknown; remote: unknown } | undefined {
  const entries = [...stats];
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  const transport = entries.find((entry) => entry.type === 'transport' && entry.selectedCandidatePairId !== undefined);
  const pair =
    byId.get(transport?.selectedCandidatePairId ?? '') ??
    entries.find((entry) => entry.type === 'candidate-pair' && entry.nominated === true && entry.state === 'succeeded');
  if (pair === undefined) return undefined;
  return { local: byId.get(pair.localCandidateId ?? '')?.candidateType, remote: byId.get(pair.remoteCandidateId ?? '')?.candidateType };
}

/** The kind of the pair `stats` says carries the connection. */
export function selectedPairKind(stats: Iterable<StatsEntry>): IcePair | undefined {
  const pair = selectedPair(stats);
  return pair === undefined ? undefined : pairKind(pair.local, pair.remote);
}

/** Whether the connection goes through a relay of this side's own: an allocation made with this side's TURN credentials. */
export function onOwnRelay(stats: Iterable<StatsEntry>): boolean {
  return selectedPair(stats)?.local === 'relay';
}

/** Whether `pc` goes through a relay of its own now (false once closed). */
export async function usesOwnRelay(pc: RTCPeerConnection): Promise<boolean> {
  try {
    return onOwnRelay((await pc.getStats()).values() as Iterable<StatsEntry>);
  } catch {
    return false; // Closed meanwhile.
  }
}

/** Calls `report` with the pair's kind each time `pc` connects. */
export function reportPairOnConnect(pc: RTCPeerConnection, report: (pair: IcePair) => void): void {
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState !== 'connected') return;
    pc.getStats().then(
      (stats) => {
        const kind = selectedPairKind(stats.values() as Iterable<StatsEntry>);
        if (kind !== undefined) report(kind);
      },
      () => undefined, // A connection closed meanwhile: nothing to report.
    );
  });
}
