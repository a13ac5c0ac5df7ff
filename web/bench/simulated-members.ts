// Simulated room members for the room benchmark: WebSockets from Node that
// join a room as a page's room client does and time what the server sends
// them. No player: they never say they are buffering, so the room waits for
// none of them, and what is timed is the server's fan-out alone.
import { readFileSync } from 'node:fs';

import WebSocket from 'ws';

import type { PlaybackCommand } from '../src/protocol/PlaybackCommand';
import type { PlaybackState } from '../src/protocol/PlaybackState';
import type { RoomServerMessage } from '../src/protocol/RoomServerMessage';

/** Members that connect at once after the first (the host): more would queue in the listen backlog. */
const JOIN_BATCH = 100;

/** Called for every message a member gets, with performance.now() and Date.now() at its arrival. */
export type OnMessage = (member: number, message: RoomServerMessage, at: { perf: number; unix: number }) => void;

export interface Members {
  sockets: WebSocket[];
  /** The room's playback as the first member (the host) last heard it. */
  playback: () => PlaybackState | undefined;
  close: () => void;
}

/** `count` members in the room at `socketUrl`; the first joins alone, and is its host. */
export async function joinMembers(socketUrl: string, count: number, onMessage: OnMessage = () => {}): Promise<Members> {
  const sockets: WebSocket[] = [];
  let playback: PlaybackState | undefined;
  const join = (i: number): Promise<void> => {
    const socket = new WebSocket(socketUrl);
    sockets.push(socket);
    return new Promise<void>((resolve, reject) => {
      socket.on('open', () => socket.send(JSON.stringify({ type: 'hello', version: 1, name: `m${i}` })));
      socket.on('message', (data: Buffer) => {
        const at = { perf: performance.now(), unix: Date.now() };
        const message = JSON.parse(data.toString()) as RoomServerMessage;
        if (i === 0 && (message.type === 'welcome' || message.type === 'playback')) playback = message.type === 'welcome' ? message.playback : message.state;
        if (message.type === 'welcome') resolve();
        onMessage(i, message, at);
      });
      socket.on('error', reject);
    });
  };
  await join(0);
  for (let first = 1; first < count; first += JOIN_BATCH) {
    await Promise.all(Array.from({ length: Math.min(JOIN_BATCH, count - first) }, (_, k) => join(first + k)));
  }
  return { sockets, playback: () => playback, close: () => sockets.forEach((socket) => socket.close()) };
}

/** Sends a playback command as `host`, based on the state it last heard. */
export function control(host: WebSocket, basedOn: PlaybackState | undefined, command: PlaybackCommand): void {
  host.send(JSON.stringify({ type: 'control', based_on: basedOn?.seq ?? 0, command }));
}

/** The resident memory of process `pid`, KiB (Linux). */
export function residentKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}
