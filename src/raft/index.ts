// The Raft core's public surface.
export { RaftNode } from './raft-node.ts';
export { SeededRng } from './rand.ts';
export { applyToConfState, decodeConfChange, encodeConfChange } from './confchange.ts';
export { quorumSize } from './quorum.ts';
export * from './types.ts';
