// The load generator's wire: etcd's unary KV calls as raw gRPC over Node's HTTP/2, with the few protobuf
// messages the workloads send encoded by hand. grpc-js with proto-loader spent ~200 µs of CPU per request here,
// a third of the 2-core machine, which capped both systems at the client's speed; this path does the same
// calls for a fraction of that (docs/performance.md), so the figures measure the servers.
import { connect, constants, type ClientHttp2Session } from 'node:http2';

/** A failed call: the gRPC status code and message, as grpc-js reports them. */
export class GrpcCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${details}`);
  }
}

const DEADLINE_EXCEEDED = 4;
const UNAVAILABLE = 14;

/** One HTTP/2 connection per endpoint, opened again after it fails. */
export class UnaryChannel {
  private session: ClientHttp2Session | undefined;

  constructor(private readonly endpoint: string) {}

  private connection(): ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = connect(`http://${this.endpoint}`);
    session.on('error', () => session.destroy());
    session.on('close', () => this.session === session && (this.session = undefined));
    session.on('goaway', () => this.session === session && (this.session = undefined));
    this.session = session;
    return session;
  }

  /** Calls `/service/method` with an encoded request; resolves with the encoded response. */
  call(path: string, request: Buffer, timeoutMs: number): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      let stream;
      try {
        stream = this.connection().request({
          [constants.HTTP2_HEADER_METHOD]: 'POST',
          [constants.HTTP2_HEADER_PATH]: path,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': `${timeoutMs}m`,
        });
      } catch (err) {
        reject(new GrpcCallError(UNAVAILABLE, (err as Error).message));
        return;
      }
      const frame = Buffer.allocUnsafe(5 + request.length);
      frame[0] = 0;
      frame.writeUInt32BE(request.length, 1);
      request.copy(frame, 5);
      const chunks: Buffer[] = [];
      let status: number | undefined;
      let message = '';
      const timer = setTimeout(() => {
        stream.close(constants.NGHTTP2_CANCEL);
        settle(new GrpcCallError(DEADLINE_EXCEEDED, 'Deadline exceeded'));
      }, timeoutMs);
      let done = false;
      const settle = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) return reject(err);
        if (status === undefined) return reject(new GrpcCallError(UNAVAILABLE, 'the stream ended without a gRPC status'));
        if (status !== 0) return reject(new GrpcCallError(status, decodeURIComponent(message)));
        const body = Buffer.concat(chunks);
        resolve(body.length >= 5 ? body.subarray(5, 5 + body.readUInt32BE(1)) : Buffer.alloc(0));
      };
      const readStatus = (headers: Record<string, unknown>) => {
        if (headers['grpc-status'] !== undefined) status = Number(headers['grpc-status']);
        if (headers['grpc-message'] !== undefined) message = String(headers['grpc-message']);
      };
      stream.on('response', readStatus); // a trailers-only answer (an error) carries its status here
      stream.on('trailers', readStatus);
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => settle());
      stream.on('close', () => settle(status === undefined ? new GrpcCallError(UNAVAILABLE, 'stream closed') : undefined));
      stream.on('error', (err) => settle(new GrpcCallError(UNAVAILABLE, err.message)));
      stream.end(frame);
    });
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}

// ------------------------------------------------------------------ the messages (etcd's rpc.proto numbers)

function varint(out: number[], n: number): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
}

/** A message of length-delimited (wire type 2) and varint (wire type 0) fields, in field order. */
function message(fields: Array<[number, Buffer | number | boolean]>): Buffer {
  const parts: Buffer[] = [];
  for (const [field, value] of fields) {
    const head: number[] = [];
    if (Buffer.isBuffer(value)) {
      varint(head, (field << 3) | 2);
      varint(head, value.length);
      parts.push(Buffer.from(head), value);
    } else {
      varint(head, field << 3);
      varint(head, Number(value));
      parts.push(Buffer.from(head));
    }
  }
  return Buffer.concat(parts);
}

export const encodePut = (key: Buffer, value: Buffer) => message([[1, key], [2, value]]);

export const encodeRange = (key: Buffer, serializable: boolean) => message(serializable ? [[1, key], [7, true]] : [[1, key]]);

/** Txn: if key's value == prev then put key=next else range key. Compare: result EQUAL (0) is the default. */
export function encodeCas(key: Buffer, prev: Buffer, next: Buffer): Buffer {
  const compare = message([[2, 3 /* VALUE */], [3, key], [7, prev]]);
  return message([
    [1, compare],
    [2, message([[2, encodePut(key, next)]])],
    [3, message([[1, message([[1, key]])]])],
  ]);
}

/** TxnResponse.succeeded (field 2): the only response field the workloads look at. */
export function txnSucceeded(response: Buffer): boolean {
  let at = 0;
  const readVarint = () => {
    let n = 0;
    for (let shift = 0; ; shift += 7) {
      const b = response[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return n;
    }
  };
  while (at < response.length) {
    const tag = readVarint();
    const type = tag & 7;
    if (tag >>> 3 === 2 && type === 0) return readVarint() !== 0;
    if (type === 0) readVarint();
    else if (type === 2) {
      const length = readVarint(); // not `at += readVarint()`: that adds to `at` as it was before the read
      at += length;
    }
    else throw new Error(`unexpected wire type ${type} in a TxnResponse`);
  }
  return false;
}
