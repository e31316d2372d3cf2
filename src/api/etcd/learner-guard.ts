// A learner answers only what etcd's learner answers: Maintenance.Status and serializable ranges. Everything
// else, streams included, gets etcd's "rpc not supported for learner" (UNAVAILABLE, so clients try another
// member). Without this a learner served writes and linearizable reads as if it were a voter.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { guardEveryMethod } from './call-guard.ts';
import { ApiError } from './errors.ts';

export const notForLearner = (): ApiError => new ApiError('etcdserver: rpc not supported for learner', 'UNAVAILABLE');

/** Whether a learner may answer this call (service and method as in etcd's proto, the decoded request). */
export function learnerMayAnswer(service: string, method: string, request: unknown): boolean {
  if (service === 'Maintenance' && method === 'Status') return true;
  return service === 'KV' && method === 'Range' && (request as { serializable?: unknown } | undefined)?.serializable === true;
}

/** The services with every method checked first while `isLearner()` says this peer is a learner. */
export function guardLearner(services: Record<string, UntypedServiceImplementation>, isLearner: () => boolean): Record<string, UntypedServiceImplementation> {
  return guardEveryMethod(services, (service, method, call) => (isLearner() && !learnerMayAnswer(service, method, call.request) ? notForLearner() : undefined));
}
