import type { Page } from 'playwright-core';

/**
 * The candidates of each type (host, srflx, relay) `page` gathers with
 * `servers` under `policy`, gathering bounded at 10 s. Each relay candidate
 * is an allocation the TURN server granted.
 */
export function gatherCandidates(page: Page, servers: RTCIceServer[], policy: RTCIceTransportPolicy = 'all'): Promise<Record<string, number>> {
  return page.evaluate(
    async ({ servers, policy }) => {
      const pc = new RTCPeerConnection({ iceServers: servers, iceTransportPolicy: policy });
      const types: Record<string, number> = {};
      pc.addEventListener('icecandidate', ({ candidate }) => {
        if (candidate?.type) types[candidate.type] = (types[candidate.type] ?? 0) + 1;
      });
      pc.createDataChannel('probe');
      await pc.setLocalDescription();
      await new Promise<void>((resolve) => {
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        setTimeout(resolve, 10_000);
      });
      pc.close();
      return types;
    },
    { servers, policy },
  );
}
