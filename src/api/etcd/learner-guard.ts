// A learner answers only what etcd's learner answers: Maintenance.Status and serializable ranges. Everything
// else, streams included, gets etcd's "rpc not supported for learner" (UNAVAILABLE, so clients try another
// member). Without this a learner served writes and linearizable reads as if it were a voter.
import type { UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ApiError, toServiceError } from './errors.ts';

export const notForLearner = (): ApiError => new ApiError('etcdserver: rpc not supported for learner', 'UNAVAILABLE');

/** Whether a learner may answer this call (service and method as in etcd's proto, the decoded request). */
export function learnerMayAnswer(service: string, method: string, request: unknown): boolean {
  if (service === 'Maintenance' && method === 'Status') return true;
  return service === 'KV' && method === 'Range' && (request as { serializable?: unknown } | undefined)?.serializable === true;
}

type AnyHandler = (...args: unknown[]) => unknown;
interface GuardedCall {
  request?: unknown;
  emit(event: 'error', err: unknown): boolean;
}

/** The services with every method checked first while `isLearner()` says this peer is a learner. */
export function guardLearner(services: Record<string, UntypedServiceImplementation>, isLearner: () => boolean): Record<string, UntypedServiceImplementation> {
  const out: Record<string, UntypedServiceImplementation> = {};
  for (const [service, methods] of Object.entries(services)) {
    const guarded: UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(methods)) {
      const h = handler as unknown as AnyHandler;
      // grpc-js calls unary handlers with (call, callback) and streaming ones with (call).
      guarded[method] = ((call: GuardedCall, callback?: (err: unknown) => void) => {
        if (isLearner() && !learnerMayAnswer(service, method, call.request)) {
          const err = toServiceError(notForLearner());
          if (callback) callback(err);
          else call.emit('error', err);
          return;
        }
        return callback ? h(call, callback) : h(call);
      }) as unknown as UntypedHandleCall;
    }
    out[service] = guarded;
  }
  return out;
}
