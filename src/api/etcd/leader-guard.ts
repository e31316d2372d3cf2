// A call that sends `hasleader: true` (clientv3's WithRequireLeader) is refused with etcd's "no leader" while
// this peer knows no leader, as etcd's unary and stream interceptors do, so that the client tries another member
// instead of reading a partitioned member's stale data. The long-lived streams (watch-service.ts,
// lease-service.ts, election-service.ts) are also cut off later, when the leader goes.
import type { IncomingHttpHeaders } from 'node:http2';
import type { Metadata, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { noLeader, toServiceError } from './errors.ts';

/**
 * What the guard reads of a call: grpc-js's metadata, or on the unary fast path the request's HTTP/2 headers
 * (read directly, so that no Metadata object is built for every call).
 */
interface CallHeaders {
  readonly http2Headers?: IncomingHttpHeaders;
  readonly metadata: Metadata;
}

function asksForLeader(call: CallHeaders): boolean {
  if (call.http2Headers) {
    const value = call.http2Headers.hasleader;
    return (Array.isArray(value) ? value[0] : value) === 'true';
  }
  return call.metadata.get('hasleader')[0] === 'true';
}

type UnaryHandler = (call: CallHeaders, callback: (err: unknown) => void) => unknown;
type StreamHandler = (call: CallHeaders & { emit(event: 'error', err: unknown): boolean }) => unknown;

/** The services with every method refused, when the call asks for a leader, while `leader()` is 0. */
export function guardLeaderRequired(services: Record<string, UntypedServiceImplementation>, leader: () => number): Record<string, UntypedServiceImplementation> {
  const out: Record<string, UntypedServiceImplementation> = {};
  for (const [service, methods] of Object.entries(services)) {
    const guarded: UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(methods)) {
      const h = handler as unknown as UnaryHandler;
      // grpc-js calls unary handlers with (call, callback) and streaming ones with (call) alone.
      guarded[method] = ((call: CallHeaders & { emit(event: 'error', err: unknown): boolean }, callback?: (err: unknown) => void) => {
        // The header first: it is a property read, the leader a look at the Raft state.
        const refuse = asksForLeader(call) && leader() === 0;
        if (!callback) return refuse ? void call.emit('error', toServiceError(noLeader())) : (h as unknown as StreamHandler)(call);
        return refuse ? callback(toServiceError(noLeader())) : h(call, callback);
      }) as unknown as UntypedHandleCall;
    }
    out[service] = guarded;
  }
  return out;
}
