// The room's invite link with a copy button. People online can also be
// invited from the "Online" list in the header.
import { h } from '../ui/dom';

export function inviteBox(link: string): HTMLElement {
  const feedback = h('span', { class: 'muted', 'aria-live': 'polite' });
  const copy = h('button', { type: 'button' }, 'Copy link');
  copy.addEventListener('click', () => {
    const copied = navigator.clipboard?.writeText(link) ?? Promise.reject(new Error('no clipboard'));
    copied.then(
      () => (feedback.textContent = 'Copied'),
      () => {
        // Without clipboard access (an insecure origin), select it for a manual copy.
        const selection = getSelection();
        selection?.selectAllChildren(code);
        feedback.textContent = 'Press Ctrl+C to copy';
      },
    );
    setTimeout(() => (feedback.textContent = ''), 3_000);
  });
  const code = h('code', { 'data-testid': 'invite' }, link);
  return h('p', { class: 'invite-box' }, 'Invite: ', code, ' ', copy, ' ', feedback, h('span', { class: 'muted' }, ' · or invite someone from the list at the top right'));
}
