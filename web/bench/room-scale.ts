// Rooms at scale, with simulated members (simulated-members.ts) against one
// server: chat fan-out in a big room, playback commands fanned out to a
// bigger one (on time = before the start they schedule), and the server's
// memory per member online and per idle room. Part of bench/room.ts.
import { setTimeout as sleep } from 'node:timers/promises';

import { percentile } from '../e2e/room-pages';
import type { PlaybackCommand } from '../src/protocol/PlaybackCommand';
import type { PlaybackState } from '../src/protocol/PlaybackState';
import { control, joinMembers, residentKiB } from './simulated-members';

export interface ScaleOptions {
  serverUrl: string;
  serverPid: number;
  newRoom: () => Promise<string>;
  chatMembers: number;
  chatMessages: number;
  syncMembers: number;
  syncCommands: number;
  idleRooms: number;
}

/**
 * Runs the three measurements in turn; returns a summary line for each. The
 * memory figures are the growth of the server's resident memory, so they come
 * first, before members that left have freed memory the next could reuse.
 */
export async function roomsAtScale(options: ScaleOptions): Promise<string[]> {
  const socketUrl = (room: string): string => `${options.serverUrl.replace('http', 'ws')}/api/rooms/${room}/socket`;
  const idle = await idleRoomMemory(options);
  const sync = await syncFanOut(socketUrl(await options.newRoom()), options);
  const chat = await chatFanOut(socketUrl(await options.newRoom()), options.chatMembers, options.chatMessages);
  return [chat, sync, idle];
}

/** One member sends `messages` chat messages, 150 ms apart; every member times every one. */
async function chatFanOut(socketUrl: string, count: number, messages: number): Promise<string> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const members = await joinMembers(socketUrl, count, (_member, message, at) => {
    if (message.type !== 'chat' || message.message.kind !== 'user') return;
    const sent = sentAt.get(message.message.text);
    if (sent !== undefined) latencies.push(at.perf - sent);
  });
  const sender = members.sockets[0];
  for (let i = 0; i < messages; i++) {
    const text = `fan-out ${i}`;
    sentAt.set(text, performance.now());
    sender?.send(JSON.stringify({ type: 'chat', text }));
    await sleep(150);
  }
  await sleep(2_000);
  members.close();
  return [
    `chat fan-out: ${count} members, ${messages} messages: delivered ${latencies.length}/${count * messages};`,
    `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${percentile(latencies, 100).toFixed(1)} ms`,
  ].join(' ');
}

/**
 * The host sends play, pause, seek ahead and seek back in turn, 400 ms apart;
 * every member times each new playback state (on arrival in this one Node
 * process, so the times include its own parsing of up to a thousand frames).
 * A play or seek while playing is scheduled ahead (the room's start): it is
 * on time at a member that has it before its anchor. Also the server's
 * memory per member online.
 */
async function syncFanOut(socketUrl: string, options: ScaleOptions): Promise<string> {
  const sentAt = new Map<number, { perf: number; unix: number }>();
  const latencies: number[] = [];
  let [scheduled, onTime] = [0, 0];
  const rssBefore = residentKiB(options.serverPid);
  const members = await joinMembers(socketUrl, options.syncMembers, (_member, message, at) => {
    if (message.type !== 'playback') return;
    const sent = sentAt.get(message.state.seq);
    if (sent === undefined) return;
    latencies.push(at.perf - sent.perf);
    // A start the room scheduled after the command: later than when it was sent.
    if (message.state.playing && message.state.anchor_ms > sent.unix) {
      scheduled += 1;
      if (at.unix <= message.state.anchor_ms) onTime += 1;
    }
  });
  await sleep(2_000);
  const perMemberKiB = (residentKiB(options.serverPid) - rssBefore) / options.syncMembers;
  const host = members.sockets[0];
  if (host === undefined) throw new Error('no members joined');
  let positionMs = 60_000;
  for (let i = 0; i < options.syncCommands; i++) {
    const state: PlaybackState | undefined = members.playback();
    const commands: PlaybackCommand[] = [
      { action: 'play', position_ms: positionMs },
      { action: 'pause', position_ms: positionMs + 400 },
      { action: 'play', position_ms: positionMs + 400 },
      { action: 'seek', position_ms: positionMs + 40_000 },
      { action: 'seek', position_ms: positionMs + 20_000 },
    ];
    const command = commands[i % commands.length];
    if (command === undefined) break;
    if (i % commands.length === commands.length - 1) positionMs = (positionMs + 20_000) % 180_000;
    sentAt.set((state?.seq ?? 0) + 1, { perf: performance.now(), unix: Date.now() });
    control(host, state, command);
    await sleep(400);
  }
  await sleep(2_000);
  members.close();
  const expected = options.syncMembers * options.syncCommands;
  return [
    `sync fan-out: ${options.syncMembers} members, ${options.syncCommands} commands: delivered ${latencies.length}/${expected};`,
    `latency p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${percentile(latencies, 100).toFixed(1)} ms;`,
    `scheduled starts on time (before their anchor) ${onTime}/${scheduled};`,
    `server memory ${perMemberKiB.toFixed(1)} KiB per member online`,
  ].join(' ');
}

/** The server's memory per room created and held with nobody in it (rooms.empty_grace_secs). */
async function idleRoomMemory(options: ScaleOptions): Promise<string> {
  const rssBefore = residentKiB(options.serverPid);
  for (let i = 0; i < options.idleRooms; i++) await options.newRoom();
  await sleep(2_000);
  const perRoomKiB = (residentKiB(options.serverPid) - rssBefore) / options.idleRooms;
  return `idle rooms: ${options.idleRooms} created, nobody in them: server memory ${perRoomKiB.toFixed(1)} KiB per room`;
}
