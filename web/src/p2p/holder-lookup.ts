// Which peers hold a segment, from the tracker's `who_has`: one question
// covers the segment and the ones after it, and an answer is reused for a
// moment, so a playing viewer asks about once per window, not per segment.
import type { Holder } from '../protocol/Holder';

/** Holders asked about at once: the segment wanted and the ones after it. */
const HOLDER_WINDOW = 16;
/** A `who_has` answer is reused this long, ms. */
const HOLDERS_FRESH_MS = 1_000;
/** How often the tracker is asked again while awaiting it, ms. */
export const PLANNED_POLL_MS = 200;
/** A rendition whose swarm named no holder for this long has nobody to wait for, ms. */
const SWARM_SEEN_MS = 15_000;

export interface HolderLookupHooks {
  whoHas: (rendition: string, from: number, count: number) => Promise<Holder[]>;
  /** A peer worth asking (not banned, not backing off). */
  usable: (peer: string) => boolean;
  /** Higher first: how good a holder is to ask. */
  score: (peer: string) => number;
}

interface Answer {
  from: number;
  at: number;
  peers: Map<string, Set<number>>;
}

export class HolderLookup {
  readonly #hooks: HolderLookupHooks;
  readonly #answers = new Map<string, Answer>();
  /** When an answer last named a holder of anything, by rendition (performance.now()). */
  readonly #holdersSeenAt = new Map<string, number>();

  constructor(hooks: HolderLookupHooks) {
    this.#hooks = hooks;
  }

  /**
   * Peers that hold the segment, best first. `reuse`: a fresh answer that
   * covers it is enough even when it names nobody (looking ahead over many
   * segments nobody holds yet must not ask the tracker once per segment).
   */
  async holdersOf(rendition: string, sequence: number, fresh = false, reuse = false): Promise<string[]> {
    let known = this.#answers.get(rendition);
    const inWindow = known !== undefined && sequence >= known.from && sequence < known.from + HOLDER_WINDOW;
    const stale = known === undefined || !inWindow || performance.now() - known.at > HOLDERS_FRESH_MS;
    if (fresh || known === undefined || stale || (!reuse && !holdsAny(known.peers, sequence))) {
      const answer = await this.#hooks.whoHas(rendition, sequence, HOLDER_WINDOW);
      const peers = new Map<string, Set<number>>();
      for (const holder of answer) {
        const held = new Set<number>();
        for (const [from, to] of holder.holds) for (let s = from; s <= to; s++) held.add(s);
        peers.set(holder.peer, held);
      }
      known = { from: sequence, at: performance.now(), peers };
      this.#answers.set(rendition, known);
      if ([...peers.values()].some((held) => held.size > 0)) this.#holdersSeenAt.set(rendition, known.at);
    }
    return [...known.peers.entries()]
      .filter(([peer, held]) => held.has(sequence) && this.#hooks.usable(peer))
      .map(([peer]) => peer)
      .sort((a, b) => this.#hooks.score(b) - this.#hooks.score(a));
  }

  /**
   * Peers playing about where we play: they hold `playing`, and their last
   * segment held is within `slack` of ours (`heldTo`) or of the last we want
   * (`lastWanted`). One far ahead holds what we want next already, or never
   * will; one far behind does not fetch ahead as far as we need.
   */
  async inStep(rendition: string, playing: number, heldTo: number, lastWanted: number, slack: number): Promise<string[]> {
    const holders = new Set(await this.holdersOf(rendition, playing, true));
    const answer = this.#answers.get(rendition);
    if (answer === undefined || answer.from !== playing) return [];
    return [...answer.peers.entries()]
      .filter(([peer, held]) => {
        const last = Math.max(...held);
        return holders.has(peer) && last >= heldTo - slack && last <= lastWanted + slack;
      })
      .map(([peer]) => peer);
  }

  /**
   * Whether anyone was seen holding segments of this rendition lately. Not
   * just in the last answer's window: members in step all lack the segment
   * they are about to fetch, and everything after it, for a moment.
   */
  #swarmNearby(rendition: string): boolean {
    return performance.now() - (this.#holdersSeenAt.get(rendition) ?? Number.NEGATIVE_INFINITY) < SWARM_SEEN_MS;
  }

  /**
   * Holders of a segment another member fetches for the room: asked again
   * until one holds it, for at most `maxWaitMs` and only while `worthWaiting`
   * (then none, and HTTP it is). `fetcherHere`: a member fetching this
   * rendition for the room is linked to us, so something will come even though
   * nobody holds anything of it yet (the start, or the room's next rendition).
   */
  async awaitHolders(
    rendition: string,
    sequence: number,
    signal: AbortSignal,
    maxWaitMs: number,
    worthWaiting: () => boolean,
    fetcherHere = false,
  ): Promise<string[]> {
    const started = performance.now();
    for (let fresh = false; ; fresh = true) {
      const holders = await this.holdersOf(rendition, sequence, fresh);
      if (holders.length > 0 || signal.aborted) return holders;
      // Nobody holds anything near it in this rendition: the room plays
      // another one (or this viewer is alone), and nothing will come.
      if (!fetcherHere && !this.#swarmNearby(rendition)) return [];
      if (!worthWaiting() || performance.now() - started + PLANNED_POLL_MS > maxWaitMs) return [];
      await new Promise((resolve) => setTimeout(resolve, PLANNED_POLL_MS));
    }
  }
}

function holdsAny(peers: Map<string, Set<number>>, sequence: number): boolean {
  for (const held of peers.values()) if (held.has(sequence)) return true;
  return false;
}
