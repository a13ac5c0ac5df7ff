// Real WebRTC in Node for unit tests: the @roamhq/wrtc stack, taught the
// argument-less `setLocalDescription()` browsers have, installed as the
// global `RTCPeerConnection` the code under test constructs.
import wrtc from '@roamhq/wrtc';

const { RTCPeerConnection: WrtcPeerConnection } = wrtc as { RTCPeerConnection: typeof RTCPeerConnection };

class NodePeerConnection extends WrtcPeerConnection {
  override async setLocalDescription(description?: RTCLocalSessionDescriptionInit): Promise<void> {
    if (description !== undefined) return super.setLocalDescription(description);
    const made = this.signalingState === 'have-remote-offer' ? await this.createAnswer() : await this.createOffer();
    return super.setLocalDescription(made);
  }
}

export function installNodeWebRtc(): void {
  Object.assign(globalThis, { RTCPeerConnection: NodePeerConnection });
}

/** A live audio track (silence) in a stream, as a microphone would give. */
export function audioStream(): MediaStream {
  const { nonstandard, MediaStream: NodeMediaStream } = wrtc as unknown as {
    nonstandard: { RTCAudioSource: new () => { createTrack: () => MediaStreamTrack } };
    MediaStream: typeof MediaStream;
  };
  return new NodeMediaStream([new nonstandard.RTCAudioSource().createTrack()]);
}
