// What every page gets and gives back.
import type { ApiClient } from '../api/client';

export interface PageContext {
  api: ApiClient;
  /** Client-side navigation to an app URL. */
  navigate: (href: string) => void;
  /** The room welcomed this page: the lobby may show it there (to the room's members only). */
  enteredRoom?: (room: string, presencePass: string) => void;
}

/** Called when the page is left: stop timers, players, requests. */
export type Cleanup = () => void;
