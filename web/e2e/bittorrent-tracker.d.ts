// The slice of bittorrent-tracker's client (v9) the WebTorrent compatibility test uses.
declare module 'bittorrent-tracker' {
  import { EventEmitter } from 'node:events';

  export interface SimplePeer extends EventEmitter {
    send(data: string | Uint8Array): void;
    destroy(): void;
  }

  export interface ClientOptions {
    infoHash: string;
    peerId: string;
    announce: string[];
    port: number;
    wrtc?: unknown;
    getAnnounceOpts?: () => Record<string, unknown>;
  }

  export default class Client extends EventEmitter {
    constructor(options: ClientOptions);
    start(): void;
    stop(): void;
    scrape(): void;
    destroy(callback?: () => void): void;
  }
}

declare module '@roamhq/wrtc' {
  const wrtc: unknown;
  export default wrtc;
}
