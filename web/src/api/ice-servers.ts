import type { MovieDetail } from './types';

/** The catalog's ICE servers as RTCPeerConnection takes them. */
export function rtcIceServers(movie: MovieDetail): RTCIceServer[] {
  return movie.tracker.ice_servers.map(({ urls, username, credential }) => ({
    urls,
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
