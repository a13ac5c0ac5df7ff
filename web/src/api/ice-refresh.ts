// TURN credentials expire (6 h by default): a page open longer, or woken
// from sleep, fetches fresh ones before its next connection needs them. The
// refresh is due a margin before the earliest expiry, and looked at again
// whenever the page comes back (visible again, or back online), since timers
// do not run while a laptop sleeps.

/** Fresh credentials are fetched this long before the old ones expire, ms. */
export const REFRESH_MARGIN_MS = 10 * 60_000;
/** A failed refresh is tried again after this long, ms. */
const RETRY_MS = 60_000;
/** Refreshes are at least this far apart, however short-lived the credentials (a server may hand out minutes), ms. */
const MIN_INTERVAL_MS = 30_000;

/** The earliest expiry of the TURN credentials in `servers` (REST form `EXPIRY:ID`), ms since the epoch. */
export function turnExpiryMs(servers: RTCIceServer[]): number | undefined {
  const expiries = servers.flatMap((server) => {
    const expiry = Number(server.username?.split(':')[0]);
    return server.username !== undefined && Number.isFinite(expiry) && expiry > 0 ? [expiry * 1000] : [];
  });
  return expiries.length === 0 ? undefined : Math.min(...expiries);
}

/** When fresh credentials are due for `servers`: a margin before their expiry (undefined: none expire). */
export function refreshDueMs(servers: RTCIceServer[]): number | undefined {
  const expiry = turnExpiryMs(servers);
  return expiry === undefined ? undefined : expiry - REFRESH_MARGIN_MS;
}

/** A running refresh. */
export interface IceRefresh {
  /**
   * Servers the caller took another way (a room's welcome): the next fetch is
   * planned from their expiry, and a fetch under way is not applied over them.
   */
  took(servers: RTCIceServer[]): void;
  stop(): void;
}

/**
 * Keeps `apply` fed with fresh ICE servers from `fetchFresh` for as long as
 * the page lives.
 */
export function keepIceServersFresh(
  initial: RTCIceServer[],
  fetchFresh: () => Promise<RTCIceServer[]>,
  apply: (servers: RTCIceServer[]) => void,
  now: () => number = Date.now,
): IceRefresh {
  let due = refreshDueMs(initial);
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** Counts the servers taken, by fetch or otherwise: a fetch applies only if none came while it ran. */
  let taken = 0;
  let fetching = false;
  let stopped = false;
  const schedule = (at: number | undefined): void => {
    clearTimeout(timer);
    due = at;
    if (at !== undefined) timer = setTimeout(check, Math.min(Math.max(0, at - now()), 2 ** 31 - 1));
  };
  const took = (servers: RTCIceServer[]): void => {
    if (stopped) return;
    taken += 1;
    const next = refreshDueMs(servers);
    schedule(next === undefined ? undefined : Math.max(next, now() + MIN_INTERVAL_MS));
  };
  const check = (): void => {
    if (due === undefined || now() < due || fetching) return;
    fetching = true;
    const before = taken;
    fetchFresh().then(
      (servers) => {
        fetching = false;
        if (stopped || taken !== before) return;
        apply(servers);
        took(servers);
      },
      () => {
        fetching = false;
        if (!stopped && taken === before) schedule(now() + RETRY_MS);
      },
    );
  };
  const onResume = (): void => {
    if (typeof document === 'undefined' || document.visibilityState === 'visible') check();
  };
  globalThis.addEventListener?.('online', onResume);
  globalThis.document?.addEventListener('visibilitychange', onResume);
  schedule(due);
  return {
    took,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      due = undefined;
      globalThis.removeEventListener?.('online', onResume);
      globalThis.document?.removeEventListener('visibilitychange', onResume);
    },
  };
}
