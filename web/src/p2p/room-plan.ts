// A room member's side of the room's fetch plan: who fetches each segment
// over HTTP for everyone, how long the others wait for that member's copy,
// and the links to the room's fetchers set up before anything is needed.
//
// Waiting is the whole point of the plan (a member that gives up fetches the
// segment over HTTP a second time), and its whole risk (a member that waits
// for a copy that cannot come stalls). So a wait is as long as the player's
// buffer allows, and only for fetchers that can deliver: linked, and not
// silent on their last transfers.
import { PLANNED_POLL_MS } from './holder-lookup';
import { roomFetcherWait } from './source-choice';

export interface RoomPlanHooks {
  /** This page's id on the movie's tracker ('' before it has one). */
  me: () => string;
  /** A link to `peer` is open now. */
  isOpen: (peer: string) => boolean;
  /** `peer` may be connected to (not banned, not backing off). */
  usable: (peer: string) => boolean;
  /** A link to `peer` exists or is being set up. */
  linkedOrLinking: (peer: string) => boolean;
  /** Sets up a link to `peer` in `rendition`'s swarm, in the background. */
  connect: (peer: string, rendition: string) => void;
  /** `peer`'s last transfers to this page went without progress. */
  silent: (peer: string) => boolean;
  /** Holders of a segment, awaited up to `waitMs` while `worthWaiting`; `fetcherHere`: someone is fetching it for the room. */
  awaitHolders: (
    rendition: string,
    sequence: number,
    signal: AbortSignal,
    waitMs: number,
    worthWaiting: () => boolean,
    fetcherHere: boolean,
  ) => Promise<string[]>;
  /** The player holds some of the movie past its position. */
  playerHoldsData: () => boolean;
  /** Seconds before it is needed under which a segment goes to HTTP. */
  httpDeadlineSecs: () => number;
}

interface Plan {
  slots: string[];
  me: string;
  /** The tracker ids of the members who fetch, once each. */
  fetchers: string[];
}

export class RoomPlan {
  readonly #hooks: RoomPlanHooks;
  #plan: Plan | undefined;
  /** The rendition the room's sharing players load (the fetchers among them). */
  #rendition: string | undefined;
  /** The room's fetchers linked to already, or tried: "rendition peer". */
  readonly #fetcherLinks = new Set<string>();
  /** How the waits for fetchers' copies ended, by outcome (see `waitEnds`). */
  readonly #waitEnds: Record<string, number> = {};

  constructor(hooks: RoomPlanHooks) {
    this.#hooks = hooks;
  }

  /** Slots name, per segment, the member who fetches it (`slots[n % slots.length]`); empty: no plan. */
  set(slots: string[], me: string, fetchers: string[]): void {
    this.#plan = slots.length === 0 ? undefined : { slots, me, fetchers };
  }

  get active(): boolean {
    return this.#plan !== undefined;
  }

  /** This member has slots in the plan. */
  get fetchesForRoom(): boolean {
    return this.#plan?.slots.includes(this.#plan.me) ?? false;
  }

  /** The room's rendition, from the moment the room names it (undefined: not following the room). */
  get rendition(): string | undefined {
    return this.#rendition;
  }

  set rendition(rendition: string | undefined) {
    this.#rendition = rendition;
  }

  /** Who fetches `sequence` over HTTP under the plan (undefined: no plan). */
  fetcherOf(sequence: number): 'me' | 'other' | undefined {
    const plan = this.#plan;
    if (plan === undefined) return undefined;
    return plan.slots[sequence % plan.slots.length] === plan.me ? 'me' : 'other';
  }

  /**
   * Holders of a segment another member fetches for the room, awaited as
   * `roomFetcherWait` says: while there is time for one not needed yet
   * (`early`), briefly for one needed now, not at all when no fetcher can
   * deliver it in time.
   */
  async awaitFetcher(rendition: string, sequence: number, early: boolean, until: () => number, signal: AbortSignal): Promise<string[]> {
    const hooks = this.#hooks;
    const linked = this.#linkedFetchers();
    const fetcherLinked = this.fetcherLinked();
    const fetchersSilent = linked.length > 0 && !fetcherLinked;
    const fetcherHere = fetcherLinked && rendition === this.#rendition;
    const wait = roomFetcherWait({ early, fetcherLinked, fetchersSilent, playerHoldsData: hooks.playerHoldsData() });
    const kind = early ? 'early' : 'now';
    if (wait === 'no') {
      this.#waitEnded(`${kind} not_waited_${fetchersSilent ? 'fetchers_silent' : 'no_fetcher_linked'}`);
      return [];
    }
    const worthWaiting = wait === 'while_in_time' ? (): boolean => until() - 0.2 >= hooks.httpDeadlineSecs() : (): boolean => true;
    const maxWaitMs = wait === 'while_in_time' ? PLANNED_WAIT_MS : PLANNED_URGENT_WAIT_MS;
    const started = performance.now();
    const holders = await hooks.awaitHolders(rendition, sequence, signal, maxWaitMs, worthWaiting, fetcherHere);
    this.#waitEnded(`${kind} ${waitOutcome(holders.length > 0, signal.aborted, worthWaiting(), performance.now() - started, maxWaitMs)}`);
    return holders;
  }

  /**
   * How this page's waits for the room fetchers' copies ended: "early"/"now"
   * (the segment was not needed yet, or was), then `found`, `aborted`,
   * `timed_out`, `out_of_time` (the buffer could wait no longer), `nobody_near`
   * (the lookup saw nobody in the rendition's swarm and no fetcher linked for
   * it), or `not_waited_…` and why. For benchmarks: which of these sends a
   * planned segment to HTTP a second time.
   */
  get waitEnds(): Readonly<Record<string, number>> {
    return this.#waitEnds;
  }

  #waitEnded(how: string): void {
    this.#waitEnds[how] = (this.#waitEnds[how] ?? 0) + 1;
  }

  /** A link to one of the room's fetchers is open, and that fetcher did not go silent on it. */
  fetcherLinked(): boolean {
    return this.#linkedFetchers().some((peer) => !this.#hooks.silent(peer));
  }

  /** The room's fetchers (but this member) with a link open; a link carries any rendition's segments, whichever swarm it was set up in. */
  #linkedFetchers(): string[] {
    const me = this.#hooks.me();
    return (this.#plan?.fetchers ?? []).filter((peer) => peer !== me && this.#hooks.isOpen(peer));
  }

  /**
   * Links in the background to the room's fetchers in this rendition's swarm,
   * once each: at the start nobody holds anything yet, and a segment the
   * player needs now is only taken over a link already open, so without this
   * every member fetched the first seconds over HTTP itself while the links
   * were still being set up. Sharing players load the room's rendition, so
   * the fetchers are in this swarm too.
   */
  linkToFetchers(rendition: string): void {
    const hooks = this.#hooks;
    const me = hooks.me();
    for (const peer of this.#plan?.fetchers ?? []) {
      const key = `${rendition} ${peer}`;
      if (peer === me || me === '' || this.#fetcherLinks.has(key) || !hooks.usable(peer)) continue;
      this.#fetcherLinks.add(key);
      if (!hooks.linkedOrLinking(peer)) hooks.connect(peer, rendition);
    }
  }
}

/** How long a segment another member fetches for the room is awaited while there is time, ms. */
export const PLANNED_WAIT_MS = 3_000;
/**
 * ... and when the player needs it now (after a start or a seek): the member
 * fetching it for the room is one HTTP fetch and one hop away, which is about
 * what an HTTP fetch shared with everyone else in the room takes, ms.
 */
export const PLANNED_URGENT_WAIT_MS = 1_500;

/** How a wait for a fetcher's copy ended, from what is known when it returned. */
function waitOutcome(found: boolean, aborted: boolean, stillWorthIt: boolean, waitedMs: number, maxWaitMs: number): string {
  if (found) return 'found';
  if (aborted) return 'aborted';
  if (!stillWorthIt) return 'out_of_time';
  // The lookup stops when its next poll would pass the longest wait.
  return waitedMs + PLANNED_POLL_MS >= maxWaitMs ? 'timed_out' : 'nobody_near';
}
