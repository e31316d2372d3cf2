// Raft messages between threads as one binary buffer per destination, transferred rather than cloned: structured
// cloning a batch of messages (every property name, every entry object) cost each peer ~8% of its CPU under a
// write load.
//
// Batch:   [to u32][count u32][offset of each message u32 x count][messages...]
// Message: [type u8][flags u8][from u32][to u32][term f64][logTerm f64][index f64][commit f64][rejectHint f64]
//          [entry count u32][entries...][context][snapshot]
// Entry:   [term f64][index f64][type u8][length u32][data]
// flags: 1 reject, 2 has context ([length u32][bytes]), 4 has snapshot ([meta length u32][meta JSON][length u32][data])
import type { Entry, EntryType, Message, MessageType, NodeId, Snapshot } from '../raft/types.ts';

const MESSAGE_TYPES: MessageType[] = [
  'hup', 'beat', 'checkQuorum', 'prop', 'readIndex', 'transferLeader', 'unreachable', 'snapStatus', 'app', 'appResp',
  'heartbeat', 'heartbeatResp', 'vote', 'voteResp', 'preVote', 'preVoteResp', 'snap', 'timeoutNow', 'readIndexResp',
];
const MESSAGE_CODES = new Map(MESSAGE_TYPES.map((t, i) => [t, i]));
const ENTRY_TYPES: EntryType[] = ['normal', 'confChange'];

const REJECT = 1;
const HAS_CONTEXT = 2;
const HAS_SNAPSHOT = 4;
const MESSAGE_HEADER = 2 + 4 + 4 + 5 * 8 + 4;
const ENTRY_HEADER = 8 + 8 + 1 + 4;

const text = new TextEncoder();
const untext = new TextDecoder();

/** Encodes messages that all go to one peer into a batch. */
export function encodeMessages(to: NodeId, msgs: Message[]): ArrayBuffer {
  let size = 8 + 4 * msgs.length;
  const metas: (Uint8Array | undefined)[] = [];
  for (const m of msgs) {
    size += MESSAGE_HEADER;
    for (const e of m.entries) size += ENTRY_HEADER + e.data.byteLength;
    if (m.context) size += 4 + m.context.byteLength;
    const meta = m.snapshot ? text.encode(JSON.stringify(m.snapshot.meta)) : undefined;
    metas.push(meta);
    if (m.snapshot) size += 8 + meta!.byteLength + m.snapshot.data.byteLength;
  }
  const buf = new ArrayBuffer(size);
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  view.setUint32(0, to);
  view.setUint32(4, msgs.length);
  let at = 8 + 4 * msgs.length;
  msgs.forEach((m, i) => {
    view.setUint32(8 + 4 * i, at);
    const code = MESSAGE_CODES.get(m.type);
    if (code === undefined) throw new Error(`unknown raft message type ${m.type}`);
    view.setUint8(at, code);
    view.setUint8(at + 1, (m.reject ? REJECT : 0) | (m.context ? HAS_CONTEXT : 0) | (m.snapshot ? HAS_SNAPSHOT : 0));
    view.setUint32(at + 2, m.from);
    view.setUint32(at + 6, m.to);
    view.setFloat64(at + 10, m.term);
    view.setFloat64(at + 18, m.logTerm);
    view.setFloat64(at + 26, m.index);
    view.setFloat64(at + 34, m.commit);
    view.setFloat64(at + 42, m.rejectHint);
    view.setUint32(at + 50, m.entries.length);
    at += MESSAGE_HEADER;
    for (const e of m.entries) {
      view.setFloat64(at, e.term);
      view.setFloat64(at + 8, e.index);
      view.setUint8(at + 16, e.type === 'normal' ? 0 : 1);
      view.setUint32(at + 17, e.data.byteLength);
      bytes.set(e.data, at + ENTRY_HEADER);
      at += ENTRY_HEADER + e.data.byteLength;
    }
    if (m.context) {
      view.setUint32(at, m.context.byteLength);
      bytes.set(m.context, at + 4);
      at += 4 + m.context.byteLength;
    }
    if (m.snapshot) {
      const meta = metas[i]!;
      view.setUint32(at, meta.byteLength);
      bytes.set(meta, at + 4);
      at += 4 + meta.byteLength;
      view.setUint32(at, m.snapshot.data.byteLength);
      bytes.set(m.snapshot.data, at + 4);
      at += 4 + m.snapshot.data.byteLength;
    }
  });
  return buf;
}

/** Decodes a batch. Entry data, contexts and snapshots are copied out, so that no part keeps the batch alive. */
export function decodeMessages(buf: ArrayBuffer): Message[] {
  const view = new DataView(buf);
  const bytes = new Uint8Array(buf);
  const count = view.getUint32(4);
  const msgs: Message[] = [];
  for (let i = 0; i < count; i++) {
    let at = view.getUint32(8 + 4 * i);
    const flags = view.getUint8(at + 1);
    const entryCount = view.getUint32(at + 50);
    const m: Message = {
      type: MESSAGE_TYPES[view.getUint8(at)]!,
      from: view.getUint32(at + 2),
      to: view.getUint32(at + 6),
      term: view.getFloat64(at + 10),
      logTerm: view.getFloat64(at + 18),
      index: view.getFloat64(at + 26),
      commit: view.getFloat64(at + 34),
      reject: (flags & REJECT) !== 0,
      rejectHint: view.getFloat64(at + 42),
      entries: new Array<Entry>(entryCount),
    };
    at += MESSAGE_HEADER;
    for (let j = 0; j < entryCount; j++) {
      const length = view.getUint32(at + 17);
      m.entries[j] = {
        term: view.getFloat64(at),
        index: view.getFloat64(at + 8),
        type: ENTRY_TYPES[view.getUint8(at + 16)]!,
        data: bytes.slice(at + ENTRY_HEADER, at + ENTRY_HEADER + length),
      };
      at += ENTRY_HEADER + length;
    }
    if (flags & HAS_CONTEXT) {
      const length = view.getUint32(at);
      m.context = bytes.slice(at + 4, at + 4 + length);
      at += 4 + length;
    }
    if (flags & HAS_SNAPSHOT) {
      const metaLength = view.getUint32(at);
      const meta = JSON.parse(untext.decode(bytes.subarray(at + 4, at + 4 + metaLength))) as Snapshot['meta'];
      at += 4 + metaLength;
      const length = view.getUint32(at);
      m.snapshot = { meta, data: bytes.slice(at + 4, at + 4 + length) };
    }
    msgs.push(m);
  }
  return msgs;
}
