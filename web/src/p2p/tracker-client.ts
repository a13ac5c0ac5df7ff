// The browser side of the tracker protocol (/tracker), on the types generated
// from the Rust protocol crate. One WebSocket per viewer: hello, join a
// rendition's swarm with the catalog's token, report holdings, ask who holds
// a window, and exchange WebRTC signals with peers the tracker introduced.
import type { ClientMessage } from '../protocol/ClientMessage';
import type { Holder } from '../protocol/Holder';
import type { IcePair } from '../protocol/IcePair';
import type { ReportReason } from '../protocol/ReportReason';
import type { SegmentRanges } from '../protocol/SegmentRanges';
import type { ServerMessage } from '../protocol/ServerMessage';
import type { Signal } from '../protocol/Signal';
import type { SwarmKey } from '../protocol/SwarmKey';

export const PROTOCOL_VERSION = 2;
/** How long a `whoHas` waits for its answer before giving up, ms. */
export const ANSWER_TIMEOUT_MS = 5_000;

/** The WebSocket constructor to use (the browser's, or `ws` in Node). */
export type WebSocketConstructor = new (url: string) => WebSocket;

export interface TrackerEvents {
  /** A peer of one of our swarms sent us a WebRTC signal. */
  onSignal?: (swarm: SwarmKey, from: string, signal: Signal, lane: number) => void;
  /** The tracker refused something we sent (`code` is stable). */
  onError?: (code: string, message: string) => void;
  /** The socket closed; `reason` is the tracker's close reason, if any. */
  onClose?: (reason: string) => void;
}

interface Waiter<T> {
  resolve: (value: T) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const swarmId = (swarm: SwarmKey): string => `${swarm.movie}/${swarm.rendition}`;

/** Refusals only a join can cause: they settle the oldest pending join. */
const JOIN_REFUSALS = new Set(['invalid_token', 'token_expired', 'token_scope', 'unknown_rendition', 'too_many_swarms']);

export class TrackerClient {
  readonly #socket: WebSocket;
  readonly #events: TrackerEvents;
  #peerId: string | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #welcome: Waiter<string> | undefined;
  readonly #joins = new Map<string, Waiter<number>[]>();
  readonly #answers = new Map<string, Waiter<Holder[]>[]>();

  private constructor(socket: WebSocket, events: TrackerEvents) {
    this.#socket = socket;
    this.#events = events;
    socket.addEventListener('message', (event) => this.#receive(String(event.data)));
    socket.addEventListener('close', (event) => this.#closed(event.reason));
  }

  /** Connects and says hello; resolves once the tracker assigned our peer id. */
  static async connect(url: string, events: TrackerEvents = {}, Socket: WebSocketConstructor = WebSocket): Promise<TrackerClient> {
    const socket = new Socket(url);
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot connect to ${url}`)), { once: true });
    });
    const client = new TrackerClient(socket, events);
    await new Promise<string>((resolve, reject) => {
      client.#welcome = { resolve, reject, timer: setTimeout(() => reject(new Error('no welcome from the tracker')), ANSWER_TIMEOUT_MS) };
      client.#send({ type: 'hello', version: PROTOCOL_VERSION });
    });
    return client;
  }

  /** Our id, assigned by the tracker. */
  get peerId(): string {
    return this.#peerId ?? '';
  }

  /** Joins a swarm; resolves with how many other peers are in it. */
  join(swarm: SwarmKey, token: string, holdings: SegmentRanges): Promise<number> {
    return this.#await(this.#joins, swarmId(swarm), () => this.#send({ type: 'join', swarm, token, holdings }));
  }

  /** Reports cache changes since the last report. */
  have(swarm: SwarmKey, added: SegmentRanges, dropped: SegmentRanges): void {
    this.#send({ type: 'have', swarm, added, dropped });
  }

  /** The best holders of `from ..= from + count - 1`. */
  whoHas(swarm: SwarmKey, from: number, count: number, limit?: number): Promise<Holder[]> {
    const message: ClientMessage = limit === undefined
      ? { type: 'who_has', swarm, from, count }
      : { type: 'who_has', swarm, from, count, limit };
    return this.#await(this.#answers, swarmId(swarm), () => this.#send(message));
  }

  /** A signal for one of the peer connections to `to` (lane 0, the first, goes without a lane). */
  signal(swarm: SwarmKey, to: string, signal: Signal, lane = 0): void {
    this.#send({ type: 'signal', swarm, to, signal, ...(lane === 0 ? {} : { lane }) });
  }

  stats(swarm: SwarmKey, httpBytes: number, peerBytes: number, uploadedBytes: number): void {
    this.#send({ type: 'stats', swarm, http_bytes: httpBytes, peer_bytes: peerBytes, uploaded_bytes: uploadedBytes });
  }

  /** Tells the tracker what carried a connection that connected (for its counters). */
  linked(swarm: SwarmKey, pair: IcePair): void {
    this.#send({ type: 'linked', swarm, pair });
  }

  /** Tells the tracker a peer misbehaved; it stops naming that peer to us. */
  report(swarm: SwarmKey, peer: string, reason: ReportReason): void {
    this.#send({ type: 'report', swarm, peer, reason });
  }

  leave(swarm: SwarmKey): void {
    this.#send({ type: 'leave', swarm });
  }

  close(): void {
    this.#socket.close();
  }

  #send(message: ClientMessage): void {
    if (this.#socket.readyState === 1) this.#socket.send(JSON.stringify(message));
  }

  /** Queues a waiter for the next answer of one kind for one swarm; answers come in order. */
  #await<T>(queues: Map<string, Waiter<T>[]>, key: string, send: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queue = queues.get(key) ?? [];
      queues.set(key, queue);
      const waiter: Waiter<T> = {
        resolve,
        reject,
        timer: setTimeout(() => {
          queue.splice(queue.indexOf(waiter), 1);
          reject(new Error('the tracker did not answer in time'));
        }, ANSWER_TIMEOUT_MS),
      };
      queue.push(waiter);
      send();
    });
  }

  #receive(text: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'welcome':
        this.#peerId = message.peer;
        clearInterval(this.#heartbeat);
        this.#heartbeat = setInterval(() => this.#send({ type: 'ping', t: Date.now() }), message.heartbeat_secs * 1000);
        settle(this.#welcome, message.peer);
        this.#welcome = undefined;
        break;
      case 'joined':
        settle(this.#joins.get(swarmId(message.swarm))?.shift(), message.peers);
        break;
      case 'holders':
        settle(this.#answers.get(swarmId(message.swarm))?.shift(), message.peers);
        break;
      case 'signal':
        this.#events.onSignal?.(message.swarm, message.from, message.signal, message.lane ?? 0);
        break;
      case 'error':
        if (JOIN_REFUSALS.has(message.code)) {
          // The tracker answers a connection's messages in order.
          const waiter = [...this.#joins.values()].find((queue) => queue.length > 0)?.shift();
          if (waiter !== undefined) {
            clearTimeout(waiter.timer);
            waiter.reject(new Error(message.code));
          }
        }
        this.#events.onError?.(message.code, message.message);
        break;
      case 'pong':
        break;
    }
  }

  #closed(reason: string): void {
    clearInterval(this.#heartbeat);
    const error = new Error(`the tracker connection closed${reason === '' ? '' : `: ${reason}`}`);
    for (const queue of [...this.#joins.values(), ...this.#answers.values()]) {
      for (const waiter of queue.splice(0)) {
        clearTimeout(waiter.timer);
        waiter.reject(error);
      }
    }
    this.#events.onClose?.(reason);
  }
}

function settle<T>(waiter: Waiter<T> | undefined, value: T): void {
  if (waiter === undefined) return;
  clearTimeout(waiter.timer);
  waiter.resolve(value);
}
