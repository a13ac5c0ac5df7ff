import type { MovieDetail } from './types';

/** The catalog's ICE servers as RTCPeerConnection takes them. */
export function rtcIceServers(movie: MovieDetail): RTCIceServer[] {
  return movie.tracker.ice_servers.map(({ urls, username, credential }) => ({
    urls,
    ...(username == null ? {} : { username }),
    ...(credential == null ? {} : { credential }),
  }));
}
