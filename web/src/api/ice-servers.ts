import type { IceServer } from '../protocol/IceServer';
import type { IceServerView } from './types';

/** Stands for the host name this page reached the server at, in the server's own STUN/TURN URLs. */
const PAGE_HOST = '{host}';

/** An ICE server as the server hands it out: with a movie's details, or in a room's welcome. */
export type IceServerEntry = IceServerView | IceServer;

/**
 * The server's ICE servers as RTCPeerConnection takes them. The server's own
 * STUN/TURN is named `{host}`: the name this page reached it at, so the URL
 * works through whatever name, proxy or address translation reaches it.
 */
export function rtcIceServers(servers: readonly IceServerEntry[], pageHost: string = globalThis.location?.hostname ?? 'localhost'): RTCIceServer[] {
  return servers.map(({ urls, username, credential }) => ({
    urls: urls.map((url) => url.replace(PAGE_HOST, pageHost)),
    ...(username == null ? {} : { username }),
    ...(credential == null ? {} : { credential }),
  }));
}

/**
 * The servers without TURN, for segment data channels: a relayed segment
 * costs the server's bandwidth as much as the same segment over HTTP, which
 * is simpler and the loader's fallback anyway. The call's media do use TURN.
 */
export function withoutRelays(servers: RTCIceServer[]): RTCIceServer[] {
  const isRelay = (url: string): boolean => url.startsWith('turn:') || url.startsWith('turns:');
  return servers.flatMap((server) => {
    const urls = [server.urls].flat().filter((url) => !isRelay(url));
    return urls.length === 0 ? [] : [{ urls }];
  });
}
