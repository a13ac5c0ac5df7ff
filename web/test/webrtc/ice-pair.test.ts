import { describe, expect, it } from 'vitest';

import { onOwnRelay, pairKind, selectedPairKind } from '../../src/webrtc/ice-pair';

describe('ICE pair kinds', () => {
  it('names a pair by its farther candidate', () => {
    expect(pairKind('host', 'host')).toBe('host');
    expect(pairKind('host', 'srflx')).toBe('srflx');
    expect(pairKind('prflx', 'srflx')).toBe('prflx');
    expect(pairKind('srflx', 'relay')).toBe('relay');
    expect(pairKind('mdns', undefined)).toBeUndefined();
  });

  it("finds the transport's selected pair, or the nominated one where the transport names none", () => {
    const candidates = [
      { type: 'local-candidate', id: 'L1', candidateType: 'host' },
      { type: 'local-candidate', id: 'L2', candidateType: 'relay' },
      { type: 'remote-candidate', id: 'R1', candidateType: 'srflx' },
    ];
    const pairs = [
      { type: 'candidate-pair', id: 'P1', localCandidateId: 'L1', remoteCandidateId: 'R1', nominated: false, state: 'failed' },
      { type: 'candidate-pair', id: 'P2', localCandidateId: 'L2', remoteCandidateId: 'R1', nominated: true, state: 'succeeded' },
    ];
    expect(selectedPairKind([...candidates, ...pairs, { type: 'transport', id: 'T', selectedCandidatePairId: 'P1' }])).toBe('srflx');
    expect(selectedPairKind([...candidates, ...pairs, { type: 'transport', id: 'T' }])).toBe('relay');
    expect(selectedPairKind(candidates)).toBeUndefined();
    expect(onOwnRelay([...candidates, ...pairs, { type: 'transport', id: 'T' }]), 'our relay candidate').toBe(true);
    expect(onOwnRelay([...candidates, ...pairs, { type: 'transport', id: 'T', selectedCandidatePairId: 'P1' }])).toBe(false);
    const theirRelay = [
      { type: 'local-candidate', id: 'L1', candidateType: 'srflx' },
      { type: 'remote-candidate', id: 'R1', candidateType: 'relay' },
      { type: 'candidate-pair', id: 'P1', localCandidateId: 'L1', remoteCandidateId: 'R1' },
      { type: 'transport', id: 'T', selectedCandidatePairId: 'P1' },
    ];
    expect(selectedPairKind(theirRelay)).toBe('relay');
    expect(onOwnRelay(theirRelay), "the other side's relay runs on its own credentials").toBe(false);
  });
});
