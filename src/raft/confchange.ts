// Membership changes travel in the log as 'confChange' entries; this is their byte encoding.
// Layout: [type: u8][nodeId: u32 big-endian][context bytes...]
import type { ConfChange, ConfChangeType, ConfState, NodeId } from './types.ts';

const TYPES: ConfChangeType[] = ['addNode', 'removeNode', 'addLearner'];

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const context = cc.context ?? new Uint8Array(0);
  const out = new Uint8Array(5 + context.length);
  out[0] = TYPES.indexOf(cc.type);
  new DataView(out.buffer).setUint32(1, cc.nodeId);
  out.set(context, 5);
  return out;
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.length < 5 || data[0]! >= TYPES.length) throw new Error('malformed conf change entry');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const cc: ConfChange = { type: TYPES[data[0]!]!, nodeId: view.getUint32(1) };
  if (data.length > 5) cc.context = data.slice(5);
  return cc;
}

/** The membership after applying one change (adding a learner that is a voter is ignored). */
export function applyToConfState(conf: ConfState, cc: ConfChange): ConfState {
  const voters = new Set<NodeId>(conf.voters);
  const learners = new Set<NodeId>(conf.learners);
  switch (cc.type) {
    case 'addNode':
      learners.delete(cc.nodeId);
      voters.add(cc.nodeId);
      break;
    case 'addLearner':
      if (!voters.has(cc.nodeId)) learners.add(cc.nodeId);
      break;
    case 'removeNode':
      voters.delete(cc.nodeId);
      learners.delete(cc.nodeId);
      break;
  }
  return { voters: [...voters].sort((a, b) => a - b), learners: [...learners].sort((a, b) => a - b) };
}
