// Two members' media meshes over real WebRTC (the @roamhq/wrtc stack, on
// loopback), their signals passed through a relay that can lose some, as a
// room socket that reconnects or overflows does. Each member sends the other
// its microphone; the call must come up whatever the relay lost.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { MediaMesh, type MeshSignal, type StreamLabel } from '../../src/call/media-mesh';
import type { MemberView } from '../../src/protocol/MemberView';
import { audioStream, installNodeWebRtc } from '../support/node-webrtc';
import { until } from '../support/until';

beforeAll(installNodeWebRtc);

const timings = { answerWaitMs: 300, connectWaitMs: 1_500 };
const meshes: MediaMesh[] = [];
const streams: MediaStream[] = [];

afterEach(() => {
  for (const mesh of meshes.splice(0)) mesh.close();
  for (const stream of streams.splice(0)) for (const track of stream.getTracks()) track.stop();
});

const member = (id: string): MemberView => ({ id, name: id, role: 'member', online: true, streaming: ['microphone'], in_call: true, tracks: {} });

/** What the relay does with a signal from `from`: passes it on (changed, maybe) or loses it (undefined). */
type Relay = (from: string, signal: MeshSignal) => MeshSignal | undefined;

/** A relay that loses the signals `lose` picks. */
const losing = (lose: (from: string, signal: MeshSignal) => boolean): Relay => (from, signal) => (lose(from, signal) ? undefined : signal);

interface Member {
  mesh: MediaMesh;
  /** Labels of the other member's streams that arrived. */
  heard: StreamLabel[];
}

/** Members `a` and `b` in a call, each sending its microphone, through `relay`. */
function call(relay: Relay, watchdog = timings): Record<'a' | 'b', Member> {
  const members = {} as Record<'a' | 'b', Member>;
  const make = (self: 'a' | 'b', other: 'a' | 'b'): Member => {
    const heard: StreamLabel[] = [];
    const send = (to: string, signal: MeshSignal): void => {
      const passed = relay(self, JSON.parse(JSON.stringify(signal)) as MeshSignal);
      if (passed !== undefined) setTimeout(() => members[other].mesh.receive(self, passed), 5);
    };
    const mesh = new MediaMesh(send, { onRemote: (_from, label, stream) => stream !== undefined && heard.push(label) }, {}, watchdog);
    meshes.push(mesh);
    return { mesh, heard };
  };
  members.a = make('a', 'b');
  members.b = make('b', 'a');
  for (const [self, side] of Object.entries(members)) {
    const stream = audioStream();
    streams.push(stream);
    side.mesh.setMembers(self, [member('a'), member('b')]);
    side.mesh.setInCall(true);
    side.mesh.setOutgoing('call', { stream, audience: 'call' });
  }
  return members;
}

const connected = (side: Member, other: string): boolean => side.mesh.diagnostics()[other]?.connection === 'connected';
const retries = (side: Member, other: string): number => side.mesh.diagnostics()[other]?.retries ?? 0;

async function bothHearEachOther({ a, b }: Record<'a' | 'b', Member>): Promise<void> {
  await until(() => connected(a, 'b') && connected(b, 'a') && a.heard.includes('call') && b.heard.includes('call'), 12_000);
}

describe('a call through a relay that loses signals', () => {
  it('connects both ways without a retry when nothing is lost, offers crossing', async () => {
    const members = call((_from, signal) => signal);
    await bothHearEachOther(members);
    expect(members.a.mesh.diagnostics().b?.sent.offer).toBeGreaterThan(0);
    expect(members.b.mesh.diagnostics().a?.sent.offer).toBeGreaterThan(0);
    expect(retries(members.a, 'b') + retries(members.b, 'a')).toBe(0);
  }, 15_000);

  it('sends an offer again when the first ones are lost', async () => {
    const lost = new Set<string>();
    const members = call(
      losing((from, signal) => {
        if (signal.description?.type !== 'offer' || lost.has(from)) return false;
        lost.add(from);
        return true;
      }),
    );
    await bothHearEachOther(members);
    expect(lost.size).toBe(2);
    expect(retries(members.a, 'b') + retries(members.b, 'a')).toBeGreaterThan(0);
  }, 15_000);

  it('gets an answer again when answers are lost until a retry', async () => {
    let lostAnswers = 0;
    const retried = (): boolean => retries(members.a, 'b') + retries(members.b, 'a') > 0;
    const members = call(losing((_from, signal) => signal.description?.type === 'answer' && !retried() && ++lostAnswers > 0));
    await bothHearEachOther(members);
    expect(lostAnswers).toBeGreaterThan(0);
    expect(retried()).toBe(true);
  }, 15_000);

  it('restarts ICE when no candidate gets through until a retry', async () => {
    let lost = 0;
    const retried = (): boolean => retries(members.a, 'b') + retries(members.b, 'a') > 0;
    const members = call((_from, signal) => {
      if (retried()) return signal;
      if (signal.candidate !== undefined) {
        lost += 1;
        return undefined;
      }
      // Candidates gathered before a description was read travel in its SDP.
      const description = signal.description;
      if (description?.sdp !== undefined) description.sdp = description.sdp.replace(/^a=candidate:.*\r\n/gm, '');
      return signal;
    });
    await bothHearEachOther(members);
    expect(lost).toBeGreaterThan(0);
    expect(retried()).toBe(true);
  }, 15_000);
});

describe('a room socket that comes back after losing signals', () => {
  // The watchdog waits a minute here: only the resync can bring the call on.
  const patient = { answerWaitMs: 60_000, connectWaitMs: 60_000 };

  it.each(['a', 'b'] as const)('completes offers both sides lost once %s (a yields on crossing offers) resyncs', async (resyncing) => {
    let open = true;
    const members = call((_from, signal) => (open ? signal : undefined), patient);
    await bothHearEachOther(members);
    // Both start sending a screen while the socket is down: both offers are lost.
    open = false;
    for (const side of [members.a, members.b]) {
      const screen = audioStream();
      streams.push(screen);
      side.mesh.setOutgoing('screen', { stream: screen, audience: 'call' });
    }
    await until(() => members.a.mesh.diagnostics().b?.signaling === 'have-local-offer' && members.b.mesh.diagnostics().a?.signaling === 'have-local-offer', 3_000);
    open = true;
    members[resyncing].mesh.resync();
    // A side can hear the other's screen while its own answer or a last offer is still on the
    // wire: the call is done when both hear and both are back to `stable`.
    const stable = (side: Member, other: string): boolean => side.mesh.diagnostics()[other]?.signaling === 'stable';
    await until(() => members.a.heard.includes('screen') && members.b.heard.includes('screen') && stable(members.a, 'b') && stable(members.b, 'a'), 5_000);
    for (const [side, other] of [[members.a, 'b'], [members.b, 'a']] as const) {
      expect(retries(side, other), 'the watchdog did nothing').toBe(0);
    }
  }, 20_000);
});
