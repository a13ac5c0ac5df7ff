import { describe, expect, it } from 'vitest';

import { rtcIceServers, withoutRelays } from '../../src/api/ice-servers';
import type { MovieDetail } from '../../src/api/types';

describe('ICE servers', () => {
  const movie = {
    tracker: {
      ice_servers: [
        { urls: ['stun:t.example:3478'] },
        { urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'], username: '1700000000:ab', credential: 'c2VjcmV0' },
      ],
    },
  } as unknown as MovieDetail;

  it('takes the catalog entries with their credentials, absent ones left out', () => {
    expect(rtcIceServers(movie)).toEqual([
      { urls: ['stun:t.example:3478'] },
      { urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'], username: '1700000000:ab', credential: 'c2VjcmV0' },
    ]);
  });

  it("puts the page's host name in the server's own STUN and TURN URLs", () => {
    const own = {
      tracker: { ice_servers: [{ urls: ['stun:{host}:3478'] }, { urls: ['turn:{host}:3478?transport=udp'], username: 'u', credential: 'p' }] },
    } as unknown as MovieDetail;
    expect(rtcIceServers(own, 'party.example')).toEqual([
      { urls: ['stun:party.example:3478'] },
      { urls: ['turn:party.example:3478?transport=udp'], username: 'u', credential: 'p' },
    ]);
    expect(rtcIceServers(own, '[2001:db8::1]')[0]?.urls).toEqual(['stun:[2001:db8::1]:3478']);
    expect(rtcIceServers(movie, 'party.example')[0]?.urls, 'other servers are left as they are').toEqual(['stun:t.example:3478']);
  });

  it('keep STUN and drop TURN, with its credentials, for segment connections', () => {
    expect(withoutRelays(rtcIceServers(movie))).toEqual([{ urls: ['stun:t.example:3478'] }]);
    expect(withoutRelays([{ urls: 'turn:only.example', username: 'u', credential: 'p' }])).toEqual([]);
  });
});
