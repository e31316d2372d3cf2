// etcd's unary calls (Put, Range, Txn, Status, …) answered straight from the HTTP/2 stream, beside grpc-js.
// grpc-js builds an intercepting call, a metadata object, a stream decoder and deadline bookkeeping for every
// call; for a one-message request and a one-message answer that was most of a peer's CPU per request
// (docs/performance.md). Streams (Watch, LeaseKeepAlive, Snapshot) and anything unusual (compressed messages,
// a content type that is not gRPC) still go to grpc-js, on the same connection. The answers are byte-for-byte
// the ones grpc-js sends: the same headers, trailers, status codes and messages.
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { Metadata, status as Status, type Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';

type UnaryImplementation = (call: FastUnaryCall, callback: (err: unknown, response?: unknown) => void) => void;

interface FastMethod {
  path: string;
  implementation: UnaryImplementation;
  deserialize(bytes: Buffer): unknown;
  serialize(value: unknown): Buffer;
}

/** What a unary handler gets as its call: the request, and the metadata read only if asked for. */
class FastUnaryCall {
  cancelled = false;
  private parsed: Metadata | undefined;

  constructor(
    readonly request: unknown,
    private readonly headers: IncomingHttpHeaders,
    private readonly stream: ServerHttp2Stream,
  ) {}

  get metadata(): Metadata {
    this.parsed ??= Metadata.fromHttp2Headers(this.headers);
    return this.parsed;
  }

  getPeer(): string {
    const s = this.stream.session?.socket;
    return s ? `${s.remoteAddress}:${s.remotePort}` : 'unknown';
  }
}

// What grpc-js sends with every answer (server-interceptors.js).
const RESPONSE_HEADERS = {
  ':status': 200,
  'content-type': 'application/grpc+proto',
  'grpc-accept-encoding': 'identity,deflate,gzip',
  'grpc-encoding': 'identity',
};
const OK_TRAILERS = { 'grpc-status': String(Status.OK), 'grpc-message': 'OK' };

/**
 * Puts the fast path in front of grpc-js on the HTTP/2 server behind `server`'s connection injector (the last one
 * created). Returns false, leaving grpc-js to serve everything, when grpc-js's insides are not as expected.
 */
export function installUnaryFastPath(
  server: Server,
  definitions: Record<string, ServiceDefinition>,
  services: Record<string, UntypedServiceImplementation>,
  maxRequestBytes: number,
): boolean {
  const http2Servers = (server as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
  const http2 = http2Servers instanceof Map ? [...http2Servers.keys()].at(-1) : undefined;
  const grpcListeners = http2?.listeners('stream') ?? [];
  if (!http2 || grpcListeners.length !== 1) return false;
  const grpcStream = grpcListeners[0] as (...args: unknown[]) => void;

  const methods = new Map<string, FastMethod>();
  for (const [service, implementation] of Object.entries(services)) {
    for (const [name, def] of Object.entries(definitions[service] ?? {})) {
      const handler = implementation[name];
      if (def.requestStream || def.responseStream || typeof handler !== 'function') continue;
      methods.set(def.path, {
        path: def.path,
        implementation: handler as unknown as UnaryImplementation,
        deserialize: def.requestDeserialize as (bytes: Buffer) => unknown,
        serialize: def.responseSerialize as (value: unknown) => Buffer,
      });
    }
  }

  http2.removeListener('stream', grpcStream);
  http2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) => {
    const method = methods.get(headers[':path'] ?? '');
    const encoding = headers['grpc-encoding'];
    const plain = encoding === undefined || encoding === 'identity';
    if (method && plain && String(headers['content-type']).startsWith('application/grpc')) serveUnary(stream, headers, method, maxRequestBytes);
    else grpcStream.call(http2, stream, headers, ...rest);
  });
  return true;
}

function serveUnary(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, method: FastMethod, maxRequestBytes: number): void {
  // A client that resets its stream must not take the peer down; 'close' tells the handler's answer to stay put.
  stream.on('error', () => undefined);
  const chunks: Buffer[] = [];
  let received = 0;
  let checked = false;
  let refused = false;
  stream.on('data', (chunk: Buffer) => {
    if (refused) return;
    chunks.push(chunk);
    received += chunk.length;
    // The declared length is checked as soon as it is in: an oversized message is refused before it is buffered.
    if (!checked && received >= 5) {
      checked = true;
      const length = (chunks.length === 1 ? chunk : Buffer.concat(chunks)).readUInt32BE(1);
      if (length > maxRequestBytes) {
        refused = true;
        chunks.length = 0;
        sendStatus(stream, Status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${maxRequestBytes})`);
      }
    }
  });
  stream.on('end', () => {
    if (refused) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (body.length < 5) {
      sendStatus(stream, Status.UNIMPLEMENTED, `Received no request message for server streaming method ${method.path}`);
      return;
    }
    const length = body.readUInt32BE(1);
    if (body[0] !== 0 || body.length < 5 + length) {
      // a compressed flag without grpc-encoding, or a message cut short: grpc-js's answers
      sendStatus(stream, Status.INTERNAL, body[0] !== 0 ? 'Invalid compression flag' : 'Error deserializing request');
      return;
    }
    if (body.length > 5 + length) {
      sendStatus(stream, Status.UNIMPLEMENTED, `Received a second request message for server streaming method ${method.path}`);
      return;
    }
    let request: unknown;
    try {
      request = method.deserialize(body.subarray(5, 5 + length));
    } catch {
      sendStatus(stream, Status.INTERNAL, 'Error deserializing request');
      return;
    }
    const call = new FastUnaryCall(request, headers, stream);
    stream.once('close', () => (call.cancelled = true));
    let answered = false;
    const respond = (err: unknown, response?: unknown) => {
      if (answered) return;
      answered = true;
      if (err) {
        const e = err as { code?: unknown; details?: unknown; message?: unknown; metadata?: unknown };
        const code = typeof e.code === 'number' && Number.isInteger(e.code) ? e.code : Status.UNKNOWN;
        const details = code === e.code && typeof e.details === 'string' ? e.details : typeof e.message === 'string' ? e.message : 'Unknown Error';
        sendStatus(stream, code, details, e.metadata instanceof Metadata ? e.metadata : undefined);
        return;
      }
      let bytes: Buffer;
      try {
        bytes = method.serialize(response);
      } catch (cause) {
        sendStatus(stream, Status.INTERNAL, `Error serializing response: ${(cause as Error).message}`);
        return;
      }
      if (stream.destroyed || stream.closed) return;
      const frame = Buffer.allocUnsafe(5 + bytes.length);
      frame[0] = 0;
      frame.writeUInt32BE(bytes.length, 1);
      bytes.copy(frame, 5);
      try {
        stream.respond(RESPONSE_HEADERS, { waitForTrailers: true });
        stream.once('wantTrailers', () => stream.sendTrailers(OK_TRAILERS));
        stream.end(frame);
      } catch {
        // the client went away meanwhile
      }
    };
    try {
      method.implementation(call, respond);
    } catch (err) {
      respond(err);
    }
  });
}

/** A trailers-only answer, as grpc-js sends an error before any message. */
function sendStatus(stream: ServerHttp2Stream, code: number, details: string, metadata?: Metadata): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  try {
    stream.respond(
      { 'grpc-status': String(code), 'grpc-message': encodeURI(details), ':status': 200, 'content-type': 'application/grpc+proto', ...metadata?.toHttp2Headers() },
      { endStream: true },
    );
  } catch {
    // the client went away meanwhile
  }
}
