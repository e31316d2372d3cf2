// etcd's ResponseHeader fields: the cluster and member ids (src/cluster/member-id.ts), the revision and term.
import type { NodeId } from '../../raft/types.ts';
import { clusterIdOf, memberIdOf } from '../../cluster/member-id.ts';

export { clusterIdOf, memberIdOf };

export interface ProtoHeader {
  clusterId: string;
  memberId: string;
  revision: number;
  raftTerm: number;
}

/** Builds headers for one peer: the ids are fixed, revision and term are read per response. */
export class HeaderSource {
  readonly clusterId: string;
  readonly memberId: string;

  constructor(
    clusterId: string,
    peer: NodeId,
    private readonly term: () => number,
    private readonly storeRevision: () => number,
  ) {
    this.clusterId = clusterIdOf(clusterId);
    this.memberId = memberIdOf(clusterId, peer);
  }

  /** A header at the given store revision (the store's current one when omitted). */
  make(revision?: number): ProtoHeader {
    return { clusterId: this.clusterId, memberId: this.memberId, revision: revision ?? this.storeRevision(), raftTerm: this.term() };
  }
}
