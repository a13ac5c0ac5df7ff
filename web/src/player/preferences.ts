// The viewer's sharing choices, kept in localStorage so they hold across
// visits: P2P off for privacy, upload off on a metered connection.
import { MAX_LANES } from '../protocol/limits';

export interface SharingPreferences {
  p2p: boolean;
  upload: boolean;
  /** Total upload cap, bytes/s; absent: the loader's default. */
  uploadBytesPerSec?: number;
  /** Connections to one peer (1 to MAX_LANES); absent: the loader's default. For comparisons. */
  peerLanes?: number;
}

const KEYS = {
  p2p: 'cinemesh.p2p',
  upload: 'cinemesh.upload',
  uploadLimit: 'cinemesh.uploadLimit',
  peerLanes: 'cinemesh.peerLanes',
} as const;

export function loadPreferences(storage: Pick<Storage, 'getItem'> = localStorage): SharingPreferences {
  const preferences: SharingPreferences = {
    p2p: storage.getItem(KEYS.p2p) !== 'off',
    upload: storage.getItem(KEYS.upload) !== 'off',
  };
  const limit = Number(storage.getItem(KEYS.uploadLimit) ?? '');
  if (Number.isFinite(limit) && limit > 0) preferences.uploadBytesPerSec = limit;
  const lanes = Number(storage.getItem(KEYS.peerLanes) ?? '');
  if (Number.isInteger(lanes) && lanes >= 1 && lanes <= MAX_LANES) preferences.peerLanes = lanes;
  return preferences;
}

export function savePreferences(preferences: SharingPreferences, storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(KEYS.p2p, preferences.p2p ? 'on' : 'off');
  storage.setItem(KEYS.upload, preferences.upload ? 'on' : 'off');
  if (preferences.uploadBytesPerSec !== undefined) storage.setItem(KEYS.uploadLimit, String(preferences.uploadBytesPerSec));
}
