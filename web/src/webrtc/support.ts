// Whether this browser can make peer connections at all. WebKitGTK as Debian
// builds it plays HLS through (Managed)MediaSource but has no
// RTCPeerConnection: its pages play from the server only and stay out of the
// call, and say why rather than announcing a peer nobody can reach.

/** Why this browser cannot connect to peers; undefined when it can. */
export function webRtcMissing(): string | undefined {
  return typeof RTCPeerConnection === 'undefined' ? 'this browser has no WebRTC (RTCPeerConnection)' : undefined;
}
