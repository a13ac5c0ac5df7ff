import { describe, expect, it } from 'vitest';

import { type IceServerEntry, rtcIceServers, withoutRelays } from '../../src/api/ice-servers';

describe('ICE servers', () => {
  const servers: IceServerEntry[] = [
    { urls: ['stun:t.example:3478'], username: null },
    { urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'], username: '1700000000:ab', credential: 'c2VjcmV0' },
  ];

  it("takes the server's entries with their credentials, absent ones left out", () => {
    expect(rtcIceServers(servers)).toEqual([
      { urls: ['stun:t.example:3478'] },
      { urls: ['turn:t.example:3478?transport=udp', 'turns:t.example:5349'], username: '1700000000:ab', credential: 'c2VjcmV0' },
    ]);
  });

  it("puts the page's host name in the server's own STUN and TURN URLs", () => {
    const own: IceServerEntry[] = [{ urls: ['stun:{host}:3478'] }, { urls: ['turn:{host}:3478?transport=udp'], username: 'u', credential: 'p' }];
    expect(rtcIceServers(own, 'party.example')).toEqual([
      { urls: ['stun:party.example:3478'] },
      { urls: ['turn:party.example:3478?transport=udp'], username: 'u', credential: 'p' },
    ]);
    expect(rtcIceServers(own, '[2001:db8::1]')[0]?.urls).toEqual(['stun:[2001:db8::1]:3478']);
    expect(rtcIceServers(servers, 'party.example')[0]?.urls, 'other servers are left as they are').toEqual(['stun:t.example:3478']);
  });

  it('keep STUN and drop TURN, with its credentials, for segment connections', () => {
    expect(withoutRelays(rtcIceServers(servers))).toEqual([{ urls: ['stun:t.example:3478'] }]);
    expect(withoutRelays([{ urls: 'turn:only.example', username: 'u', credential: 'p' }])).toEqual([]);
  });
});
