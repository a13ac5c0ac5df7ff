import { describe, expect, it } from 'vitest';

import type { ChatMessage } from '../../src/protocol/ChatMessage';
import { ChatOutbox } from '../../src/rooms/chat-outbox';

const posted = (text: string, nonce?: string): ChatMessage => ({
  id: 1,
  kind: 'user',
  name: 'Ana',
  text,
  server_ms: 0,
  video_ms: 0,
  reactions: [],
  ...(nonce === undefined ? {} : { nonce }),
});

describe('chat outbox', () => {
  it('forgets a message once it comes back', () => {
    let n = 0;
    const outbox = new ChatOutbox(() => `n${++n}`);
    const first = outbox.add('hello');
    expect(first).toEqual({ text: 'hello', nonce: 'n1' });
    outbox.add('again');
    outbox.echoed('n1');
    outbox.echoed(undefined);
    expect(outbox.size).toBe(1);
  });

  it('sends again after a reconnect only what the history lacks', () => {
    let n = 0;
    const outbox = new ChatOutbox(() => `n${++n}`);
    outbox.add('made it before the drop');
    outbox.add('lost in the drop');
    const again = outbox.resend([posted('someone else'), posted('made it before the drop', 'n1')]);
    expect(again).toEqual([{ text: 'lost in the drop', nonce: 'n2' }]);
    expect(outbox.size).toBe(1);
  });

  it('makes distinct nonces by default', () => {
    const outbox = new ChatOutbox();
    expect(outbox.add('a').nonce).not.toBe(outbox.add('b').nonce);
  });
});
