// A call that sends `hasleader: true` (clientv3's WithRequireLeader) is refused with etcd's "no leader" while
// this peer knows no leader, as etcd's unary and stream interceptors do, so that the client tries another member
// instead of reading a partitioned member's stale data. The long-lived streams (watch-service.ts,
// lease-service.ts, election-service.ts) are also cut off later, when the leader goes.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { guardEveryMethod, type GuardedCall } from './call-guard.ts';
import { noLeader } from './errors.ts';

function asksForLeader(call: GuardedCall): boolean {
  if (call.http2Headers) {
    const value = call.http2Headers.hasleader;
    return (Array.isArray(value) ? value[0] : value) === 'true';
  }
  return call.metadata.get('hasleader')[0] === 'true';
}

/** The services with every method refused, when the call asks for a leader, while `leader()` is 0. */
export function guardLeaderRequired(services: Record<string, UntypedServiceImplementation>, leader: () => number): Record<string, UntypedServiceImplementation> {
  // The header first: it is a property read, the leader a look at the Raft state.
  return guardEveryMethod(services, (_service, _method, call) => (asksForLeader(call) && leader() === 0 ? noLeader() : undefined));
}
