// Raft messages cross threads as binary batches: every field must survive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMessages, encodeMessages } from '../../src/node/message-codec.ts';
import type { Message } from '../../src/raft/types.ts';

const base = (fields: Partial<Message>): Message => ({
  type: 'app', from: 1, to: 2, term: 7, logTerm: 6, index: 41, entries: [], commit: 40, reject: false, rejectHint: 0, ...fields,
});

const messages: Message[] = [
  base({
    entries: [
      { term: 7, index: 42, type: 'normal', data: new Uint8Array([1, 2, 3]) },
      { term: 7, index: 43, type: 'confChange', data: new Uint8Array([9]) },
      { term: 7, index: 44, type: 'normal', data: new Uint8Array(0) },
    ],
  }),
  base({ type: 'appResp', from: 1, reject: true, rejectHint: 17, index: 2 ** 40 + 3 }),
  base({ type: 'heartbeat', context: new Uint8Array([0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8]) }),
  base({ type: 'snap', snapshot: { meta: { index: 500, term: 6, confState: { voters: [1, 2, 3], learners: [4] } }, data: new Uint8Array(70_000).fill(5) } }),
  base({ type: 'preVote', term: 8, context: new Uint8Array(0) }),
];

test('a batch decodes to the same messages, with data copied out of the batch', () => {
  const batch = encodeMessages(2, messages);
  const decoded = decodeMessages(batch);
  assert.deepEqual(decoded, messages);
  for (const m of decoded) for (const e of m.entries) assert.notEqual(e.data.buffer, batch, 'entry data must not keep the batch alive');
});

test('an unknown message type is refused when encoding', () => {
  assert.throws(() => encodeMessages(2, [base({ type: 'bogus' as Message['type'] })]), /unknown raft message type bogus/);
});
