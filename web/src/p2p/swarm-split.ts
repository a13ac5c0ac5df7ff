// Viewers of a movie page who play the same seconds all lack the segment they
// are about to load, so each fetched every segment over HTTP itself (three of
// four viewers starting together took nothing from peers). Without a room
// there is nobody to hand out a plan, so each viewer works one out from what
// it sees: the viewers in step with it (linked, and holding the segment it
// plays now) split the segments among themselves by rendezvous hashing. Each
// segment goes to the member whose hash of (member, segment) is highest, so
// two viewers who see different sets agree wherever their sets overlap in the
// winner, and a viewer who leaves only moves its own segments.
import type { PlayerWindow } from './player-window';

/** Who fetches `sequence` for the viewers in step: one of `members` (ids on the tracker). */
export function splitOwner(sequence: number, members: readonly string[]): string | undefined {
  let owner: string | undefined;
  let best = -1;
  for (const member of members) {
    const score = fnv1a(`${member}/${sequence}`);
    if (score > best || (score === best && owner !== undefined && member > owner)) {
      best = score;
      owner = member;
    }
  }
  return owner;
}

/** 32-bit FNV-1a, mixed once more so that neighbouring segments spread evenly. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}

/** Segments a peer may hold past our window, or short of our buffer, and still play in step with us. */
const IN_STEP_SLACK = 3;

export interface StepSplitHooks extends Omit<PlayerWindow, 'cache'> {
  /** Our id on the tracker; '' before the tracker named us. */
  me: () => string;
  /** Whether a split applies now (no room plan, which takes precedence). */
  active: () => boolean;
  /** Peers holding `playing` whose last segment held is within `slack` of `heldTo` or `lastWanted`. */
  inStep: (rendition: string, playing: number, heldTo: number, lastWanted: number, slack: number) => Promise<string[]>;
  /** Whether the link to `peer` is open. */
  linked: (peer: string) => boolean;
  /** Opens links to these peers in the background. */
  warmUp: (peers: string[], rendition: string) => void;
  /** The split began (someone is in step) or ended (nobody is). */
  onSplitting: (splitting: boolean) => void;
}

/** The viewers in step with this one, kept up to date, and who fetches what among them. */
export class StepSplit {
  readonly #hooks: StepSplitHooks;
  #members: string[] = [];
  #refreshing = false;

  constructor(hooks: StepSplitHooks) {
    this.#hooks = hooks;
  }

  get splitting(): boolean {
    return this.#members.length > 0;
  }

  /** Who fetches `sequence`: this viewer, another in step, or nobody in particular (no split). */
  owner(sequence: number): 'me' | 'other' | undefined {
    const me = this.#hooks.me();
    if (this.#members.length === 0 || me === '') return undefined;
    return splitOwner(sequence, [me, ...this.#members]) === me ? 'me' : 'other';
  }

  /** Looks again at who plays where this viewer plays (once a second). */
  async refresh(): Promise<void> {
    const rendition = this.#hooks.rendition();
    if (!this.#hooks.active() || rendition === undefined || this.#refreshing || this.#hooks.me() === '') return;
    this.#refreshing = true;
    try {
      const { index, playhead, bufferedTo, aheadSecs } = this.#hooks;
      const now = playhead();
      const playing = index.sequenceAt(rendition, now);
      const lastHeld = index.firstUnbuffered(rendition, bufferedTo()) - 1;
      const lastWanted = index.sequenceAt(rendition, now + aheadSecs());
      const near = await this.#hooks.inStep(rendition, playing, lastHeld, lastWanted, IN_STEP_SLACK);
      // Viewers who started together hold nothing the others lack: without
      // this, nobody was ever linked to split with.
      this.#hooks.warmUp(near, rendition);
      const members = near.filter((peer) => this.#hooks.linked(peer)).sort();
      if (this.#hooks.active() && members.join() !== this.#members.join()) this.#set(members);
    } finally {
      this.#refreshing = false;
    }
  }

  /** After a jump, who was in step is not: found again from there. */
  reset(): void {
    this.#set([]);
  }

  #set(members: string[]): void {
    const splitting = members.length > 0;
    const was = this.splitting;
    this.#members = members;
    if (splitting !== was) this.#hooks.onSplitting(splitting);
  }
}
