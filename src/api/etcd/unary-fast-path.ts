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

/**
 * What a unary handler gets as its call: the request (all that etcd's handlers read) and, read only if asked for,
 * the metadata, as on grpc-js's call.
 */
interface FastUnaryCall {
  readonly request: unknown;
  readonly metadata: Metadata;
  /** The request's headers as received, for checks that need one header (leader-guard.ts). */
  readonly http2Headers: IncomingHttpHeaders;
  /** Whether the client went away before the answer, as on grpc-js's call. */
  readonly cancelled: boolean;
  /**
   * 'cancelled', as grpc-js emits it, for handlers that wait (a Lock, a Campaign) and must give up when the
   * client goes away; the stream is watched only for calls whose handler asks.
   */
  on(event: 'cancelled', listener: () => void): FastUnaryCall;
  once(event: 'cancelled', listener: () => void): FastUnaryCall;
}

/** A class, not an object literal, so that a call costs one object, not one closure per method. */
class FastCall implements FastUnaryCall {
  constructor(
    readonly request: unknown,
    readonly http2Headers: IncomingHttpHeaders,
    private readonly stream: ServerHttp2Stream,
  ) {}

  get metadata(): Metadata {
    return Metadata.fromHttp2Headers(this.http2Headers);
  }

  get cancelled(): boolean {
    return (this.stream.closed || this.stream.destroyed) && !this.stream.headersSent;
  }

  on(event: 'cancelled', listener: () => void): FastUnaryCall {
    if (event === 'cancelled') this.stream.once('close', () => this.cancelled && listener());
    return this;
  }

  once(event: 'cancelled', listener: () => void): FastUnaryCall {
    return this.on(event, listener);
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
    if (method && takes(headers)) serveUnary(stream, headers, method, maxRequestBytes);
    else grpcStream.call(http2, stream, headers, ...rest);
  });
  return true;
}

/** grpc-js's own pattern for the header (unanchored, as there); a value it cannot read is left to grpc-js. */
const GRPC_TIMEOUT = /(\d{1,8})\s*([HMSmun])/;

/** Whether the fast path may take the call: anything unusual goes to grpc-js, which has an answer for it. */
function takes(headers: IncomingHttpHeaders): boolean {
  const encoding = headers['grpc-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return false;
  const timeout = headers['grpc-timeout'];
  if (timeout !== undefined && !GRPC_TIMEOUT.test(String(timeout))) return false;
  return String(headers['content-type']).startsWith('application/grpc');
}

function serveUnary(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, method: FastMethod, maxRequestBytes: number): void {
  // A client that resets its stream must not take the peer down (an answer after that is dropped: see respond).
  stream.on('error', () => undefined);
  // The body is read a frame at a time, as grpc-js's decoder does: at most one partial frame is held, every
  // frame's declared length is checked before it is buffered, and a second message ends the call at once.
  let parts: Buffer[] = []; // the bytes received of the frame not yet complete (no copies until it is)
  let have = 0;
  let frameBytes = -1; // that frame's size, once its 5-byte header is in
  let message: Buffer | undefined;
  let refused = false;
  const refuse = (code: number, details: string) => {
    refused = true;
    parts = [];
    sendStatus(stream, code, details);
  };
  stream.on('data', (chunk: Buffer) => {
    if (refused) return;
    parts.push(chunk);
    have += chunk.length;
    for (;;) {
      if (frameBytes < 0) {
        if (have < 5) return;
        if (parts[0]!.length < 5) parts = [Buffer.concat(parts, have)];
        const length = parts[0]!.readUInt32BE(1);
        if (length > maxRequestBytes) return refuse(Status.RESOURCE_EXHAUSTED, `Received message larger than max (${length} vs ${maxRequestBytes})`);
        frameBytes = 5 + length;
      }
      if (have < frameBytes) return;
      if (message) return refuse(Status.UNIMPLEMENTED, `Received a second request message for server streaming method ${method.path}`);
      const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
      message = all.subarray(5, frameBytes);
      const rest = all.subarray(frameBytes);
      parts = rest.length > 0 ? [rest] : [];
      have = rest.length;
      frameBytes = -1;
    }
  });
  stream.on('end', () => {
    if (refused) return;
    // grpc-js serves a message followed by a stray partial frame, and ignores the compressed flag without an encoding.
    if (!message) return sendStatus(stream, Status.UNIMPLEMENTED, `Received no request message for server streaming method ${method.path}`);
    let request: unknown;
    try {
      request = method.deserialize(message);
    } catch {
      return sendStatus(stream, Status.INTERNAL, 'Error deserializing request');
    }
    const call = new FastCall(request, headers, stream);
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
      } catch {
        sendStatus(stream, Status.INTERNAL, 'Error serializing response');
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
    } catch {
      // as grpc-js answers a handler that throws (its details only with GRPC_NODE_DEBUG_SEND_ERROR_DETAILS)
      if (!answered) {
        answered = true;
        sendStatus(stream, Status.UNKNOWN, 'Unknown error');
      }
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
