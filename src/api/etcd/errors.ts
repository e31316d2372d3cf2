// Turns the errors of the KV store, the runtime and the manager into gRPC statuses with etcd's exact
// messages: clients such as the Go client and etcd3 recognise errors by message text, so none is rewritten.
import { status as Status, Metadata, type ServiceError } from '@grpc/grpc-js';

/** An error the API layer raises itself, with a gRPC code name as the KV errors carry. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: keyof typeof Status,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const noLeader = (): ApiError => new ApiError('etcdserver: no leader', 'UNAVAILABLE');
export const notLeader = (): ApiError => new ApiError('etcdserver: not leader', 'FAILED_PRECONDITION');
export const timedOut = (): ApiError => new ApiError('etcdserver: request timed out', 'UNAVAILABLE');

/** A ServiceError for grpc-js callbacks and stream.destroy/emit: code + details = etcd's message. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const e = err as { message?: unknown; code?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const named = typeof e?.code === 'string' ? (Status as unknown as Record<string, number>)[e.code] : undefined;
  const code = typeof named === 'number' ? named : typeof e?.code === 'number' && e.code in Status ? e.code : Status.UNKNOWN;
  return { code, details: message, message, metadata: new Metadata() };
}
