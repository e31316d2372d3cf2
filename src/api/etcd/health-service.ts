// The standard gRPC health service (grpc.health.v1.Health), which etcd serves beside its own: Kubernetes gRPC
// probes, grpc-health-probe and proxies ask it whether the server is up. As etcd (grpc-go's health server with
// its default entry), the server as a whole ("") is SERVING and any other service name is unknown.
import { Reader, Writer } from 'protobufjs';
import type { ServerWritableStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ApiError } from './errors.ts';
import { unary } from './unary.ts';

const SERVING = 1;
const SERVICE_UNKNOWN = 3;

interface HealthCheckRequest {
  service: string;
}
interface HealthCheckResponse {
  status: number;
}

function decodeRequest(bytes: Buffer): HealthCheckRequest {
  const reader = Reader.create(bytes);
  let service = '';
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) service = reader.string();
    else reader.skipType(tag & 7);
  }
  return { service };
}

function encodeResponse(response: HealthCheckResponse): Buffer {
  const writer = Writer.create();
  if (response.status !== 0) writer.uint32((1 << 3) | 0).int32(response.status);
  return Buffer.from(writer.finish());
}

const method = (name: string, responseStream: boolean) => ({
  path: `/grpc.health.v1.Health/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: () => Buffer.alloc(0), // the server never sends a request
  requestDeserialize: decodeRequest,
  responseSerialize: encodeResponse,
  responseDeserialize: () => ({ status: 0 }), // nor reads a response
});

export const healthServiceDefinition: ServiceDefinition = {
  Check: method('Check', false),
  Watch: method('Watch', true),
};

export function healthService(): UntypedServiceImplementation {
  return {
    Check: unary(async (request) => {
      if ((request as unknown as HealthCheckRequest).service !== '') throw new ApiError('unknown service', 'NOT_FOUND');
      return { status: SERVING };
    }),
    // grpc-go's Watch sends the status, then a new one whenever it changes (here it never does), and for an
    // unknown service SERVICE_UNKNOWN rather than an error, since the service may appear later.
    Watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
      call.on('error', () => undefined);
      call.write({ status: call.request.service === '' ? SERVING : SERVICE_UNKNOWN });
    },
  };
}
