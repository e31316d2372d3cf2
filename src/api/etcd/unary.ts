// Adapts an async handler to grpc-js's unary callback style, turning thrown errors into etcd statuses.
import type { sendUnaryData, ServerUnaryCall, UntypedHandleCall } from '@grpc/grpc-js';
import type { Wire } from './convert.ts';
import { toServiceError } from './errors.ts';

export function unary(handler: (request: Wire, call: ServerUnaryCall<Wire, Wire>) => Promise<Wire>): UntypedHandleCall {
  return (call: ServerUnaryCall<Wire, Wire>, callback: sendUnaryData<Wire>) => {
    handler(call.request, call).then(
      (response) => callback(null, response),
      (err: unknown) => callback(toServiceError(err)),
    );
  };
}
