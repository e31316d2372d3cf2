// A check that runs before every method of every service (learner-guard.ts, leader-guard.ts): a call it refuses
// gets the error as grpc-js delivers one — to a unary call's callback, or on a stream's 'error' event — and never
// reaches the handler.
import type { IncomingHttpHeaders } from 'node:http2';
import type { Metadata, UntypedHandleCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { toServiceError } from './errors.ts';

/** What a guard may read of a call: grpc-js's (or the gateway's), or the unary fast path's. */
export interface GuardedCall {
  readonly request?: unknown;
  readonly metadata: Metadata;
  /** On the unary fast path: the request's HTTP/2 headers, read without building a Metadata per call. */
  readonly http2Headers?: IncomingHttpHeaders;
  emit(event: 'error', err: unknown): boolean;
}

type AnyHandler = (...args: unknown[]) => unknown;

/** The services with `refusal` asked first for every call; an error it returns is the call's answer. */
export function guardEveryMethod(
  services: Record<string, UntypedServiceImplementation>,
  refusal: (service: string, method: string, call: GuardedCall) => Error | undefined,
): Record<string, UntypedServiceImplementation> {
  const out: Record<string, UntypedServiceImplementation> = {};
  for (const [service, methods] of Object.entries(services)) {
    const guarded: UntypedServiceImplementation = {};
    for (const [method, handler] of Object.entries(methods)) {
      const h = handler as unknown as AnyHandler;
      // grpc-js calls unary handlers with (call, callback) and streaming ones with (call) alone.
      guarded[method] = ((call: GuardedCall, callback?: (err: unknown) => void) => {
        const refused = refusal(service, method, call);
        if (refused) {
          const err = toServiceError(refused);
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
