// The standard gRPC health service (grpc.health.v1.Health), which etcd serves beside its own: Kubernetes gRPC
// probes, grpc-health-probe and proxies ask it whether the server is up. As etcd (grpc-go's health server with
// its default entry), the server as a whole ("") is SERVING and any other service name is unknown.
import type { ServerWritableStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Wire } from './convert.ts';
import { ApiError } from './errors.ts';
import { unary } from './unary.ts';

export function healthService(): UntypedServiceImplementation {
  return {
    Check: unary(async (request) => {
      if (request.service !== '') throw new ApiError('unknown service', 'NOT_FOUND');
      return { status: 'SERVING' };
    }),
    // grpc-go's Watch sends the status, then a new one whenever it changes (here it never does), and for an
    // unknown service SERVICE_UNKNOWN rather than an error, since the service may appear later.
    Watch: (call: ServerWritableStream<Wire, Wire>) => {
      call.on('error', () => undefined);
      call.write({ status: call.request.service === '' ? 'SERVING' : 'SERVICE_UNKNOWN' });
    },
  };
}
