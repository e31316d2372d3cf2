// Every proposed command carries who proposed it and a sequence number, so that the proposing peer can
// answer its client when the entry is applied. Layout: [proposer u32][seq f64][command...]
import type { NodeId } from '../raft/types.ts';

const HEADER = 12;

export function encodeEnvelope(proposer: NodeId, seq: number, command: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + command.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, proposer);
  view.setFloat64(4, seq);
  out.set(command, HEADER);
  return out;
}

export function decodeEnvelope(data: Uint8Array): { proposer: NodeId; seq: number; command: Uint8Array } {
  if (data.byteLength < HEADER) throw new Error('malformed log entry: shorter than its envelope');
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { proposer: view.getUint32(0), seq: view.getFloat64(4), command: data.subarray(HEADER) };
}
