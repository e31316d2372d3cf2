// What every service of one peer's etcd API works with: the peer's runtime and store, its identity, and the
// bridge to the cluster manager for what only another peer (the leader) or the manager can answer.
import type { KvPeer } from '../../node/kv-peer.ts';
import type { PeerRuntime } from '../../node/peer-runtime.ts';
import type { ForwardCall, PeerInit } from '../../node/protocol.ts';
import type { HeaderSource } from './header.ts';

/** The worker's link to the manager. */
export interface PeerBridge {
  /** Asks the manager to run a call (on the leader, or a membership change); rejects with etcd's errors. */
  forward(call: ForwardCall): Promise<unknown>;
}

export interface ServiceContext {
  init: PeerInit;
  runtime: PeerRuntime;
  kv: KvPeer;
  bridge: PeerBridge;
  headers: HeaderSource;
  /** The raft leader this peer knows of, 0 for none. */
  leader(): number;
  /** Streams register here so that a peer without a leader can end the ones that asked for one. */
  leaderless: LeaderlessHub;
}

/** Ends the streams that sent `hasleader: true` once the peer has had no leader for a while, as etcd does. */
export class LeaderlessHub {
  private readonly streams = new Set<(err: Error) => void>();

  add(end: (err: Error) => void): () => void {
    this.streams.add(end);
    return () => this.streams.delete(end);
  }

  endAll(err: Error): void {
    for (const end of [...this.streams]) end(err);
    this.streams.clear();
  }
}
