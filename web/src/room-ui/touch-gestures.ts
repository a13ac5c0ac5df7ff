// Touch on the room's picture, as phone players do it: a double tap on the
// left or right third seeks 10 s back or ahead (for the whole room, like the
// arrow keys); a single tap in fullscreen shows or hides the controls and the
// overlays, which otherwise cover the picture. Mouse and pen clicks are left
// to the page.

/** Two taps within this long are a double tap, ms. */
const DOUBLE_TAP_MS = 300;

export interface TouchActions {
  /** Seek the room by this much, ms (−10 s or +10 s). */
  seekBy: (deltaMs: number) => void;
  /** A single tap. */
  tap: () => void;
}

export function touchGestures(target: HTMLElement, actions: TouchActions, seekStepMs: number): () => void {
  let last: { at: number; side: number } | undefined;
  let single: ReturnType<typeof setTimeout> | undefined;
  const up = (event: PointerEvent): void => {
    if (event.pointerType !== 'touch') return;
    const box = target.getBoundingClientRect();
    const third = Math.floor(((event.clientX - box.left) / box.width) * 3);
    const side = third <= 0 ? -1 : third >= 2 ? 1 : 0;
    const now = event.timeStamp;
    if (last !== undefined && now - last.at < DOUBLE_TAP_MS && side === last.side && side !== 0) {
      clearTimeout(single);
      single = undefined;
      last = undefined;
      actions.seekBy(side * seekStepMs);
      return;
    }
    last = { at: now, side };
    clearTimeout(single);
    single = setTimeout(() => {
      single = undefined;
      actions.tap();
    }, DOUBLE_TAP_MS);
  };
  target.addEventListener('pointerup', up);
  return () => {
    clearTimeout(single);
    target.removeEventListener('pointerup', up);
  };
}
