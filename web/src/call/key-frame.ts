// A call link whose path changed (an ICE restart found a new one after a
// network change) may have lost, on the way, frames that the next ones refer
// to: the other side's decoder then waits for a key frame. It asks for one,
// but the ask it sent while the path was down is lost, and Chromium asks again
// only about 3 s later. Across a renumbered home: packets flowed again 3.8 s
// after the change, pictures only at 6.7 s. So a sender sends a key frame as
// soon as its link's path changes. Browsers offer no call for that on a
// sender; pausing its encodings for a moment restarts the encoder, which
// starts with one.

/** Sends a key frame on `sender` now (nothing for a sender without encodings). */
export async function sendKeyFrame(sender: RTCRtpSender): Promise<void> {
  const paused = sender.getParameters();
  if (paused.encodings.length === 0) return;
  const active = paused.encodings.map((encoding) => encoding.active ?? true);
  for (const encoding of paused.encodings) encoding.active = false;
  await sender.setParameters(paused);
  const resumed = sender.getParameters();
  resumed.encodings.forEach((encoding, i) => (encoding.active = active[i] ?? true));
  await sender.setParameters(resumed);
}

/** From its second path on (the first is the link coming up), `pc` sends a key frame on each video sender when its path changes. */
export function keyFrameOnNewPath(pc: RTCPeerConnection): void {
  let watched: RTCIceTransport | undefined;
  let paths = 0;
  const watch = (): void => {
    const transport = pc.getSenders().find((sender) => sender.transport !== null)?.transport?.iceTransport;
    if (transport === undefined || transport === watched) return;
    watched = transport;
    transport.addEventListener('selectedcandidatepairchange', () => {
      paths += 1;
      if (paths < 2) return;
      for (const sender of pc.getSenders()) {
        if (sender.track?.kind === 'video') sendKeyFrame(sender).catch(() => undefined); // Closed, or renegotiating: the next path change tries again.
      }
    });
  };
  pc.addEventListener('connectionstatechange', watch);
  pc.addEventListener('signalingstatechange', watch);
}
