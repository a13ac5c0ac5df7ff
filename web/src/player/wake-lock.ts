// Keeps the screen on while a video of the player plays (the movie, or a
// file in its place): a phone or a laptop on battery would dim and lock in
// the middle of the movie. The lock goes when nothing plays, and the browser
// drops it when the page is hidden, so it is asked again when the page is
// shown while still playing.

/** What the page holds, for its figures and the tests. */
export interface ScreenWakeLock {
  /** Whether the screen is kept on now. */
  readonly held: boolean;
  /** Why the last request failed (no API, refused); undefined when it did not. */
  readonly refused: string | undefined;
  stop(): void;
}

interface WakeLockSentinelLike extends EventTarget {
  readonly released: boolean;
  release(): Promise<void>;
}

/** Media events do not bubble: the player's box hears its videos' in the capture phase. */
const MEDIA_EVENTS = ['playing', 'pause', 'ended', 'emptied'] as const;

export function keepScreenOn(player: HTMLElement): ScreenWakeLock {
  const api = (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<WakeLockSentinelLike> } }).wakeLock;
  let sentinel: WakeLockSentinelLike | undefined;
  let refused: string | undefined = api === undefined ? 'this browser has no Screen Wake Lock API' : undefined;
  let wanted = false;
  /** Whether a request is on its way: another is not made meanwhile. */
  let requesting = false;
  const acquire = async (): Promise<void> => {
    wanted = true;
    if (api === undefined || requesting || (sentinel !== undefined && !sentinel.released) || document.visibilityState !== 'visible') return;
    requesting = true;
    try {
      const lock = await api.request('screen');
      // Nothing plays any more: this one goes at once.
      if (wanted) sentinel = lock;
      else void lock.release();
      refused = undefined;
    } catch (error) {
      refused = error instanceof Error ? error.message : String(error);
    } finally {
      requesting = false;
    }
  };
  const release = (): void => {
    wanted = false;
    void sentinel?.release();
    sentinel = undefined;
  };
  const somethingPlays = (): boolean => [...player.querySelectorAll('video')].some((v) => !v.paused && !v.ended);
  const update = (): void => {
    if (somethingPlays()) void acquire();
    else release();
  };
  const visible = (): void => {
    if (wanted && document.visibilityState === 'visible') void acquire();
  };
  for (const type of MEDIA_EVENTS) player.addEventListener(type, update, true);
  document.addEventListener('visibilitychange', visible);
  update();
  return {
    get held() {
      return sentinel !== undefined && !sentinel.released;
    },
    get refused() {
      return refused;
    },
    stop: () => {
      release();
      for (const type of MEDIA_EVENTS) player.removeEventListener(type, update, true);
      document.removeEventListener('visibilitychange', visible);
    },
  };
}
