// The unary fast path (src/api/etcd/unary-fast-path.ts) answers exactly as grpc-js does: the same calls, sent as
// raw HTTP/2 to a cluster with it and to one without it (RAFTLAB_GRPC_FAST_PATH=0), get the same headers,
// trailers and messages — for answers, etcd errors, and requests grpc-js itself refuses.
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, test } from 'node:test';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { installUnaryFastPath } from '../../src/api/etcd/unary-fast-path.ts';
import { etcdServiceDefinitions } from '../../src/api/etcd/proto.ts';
import { startCluster, type TestCluster } from './support.ts';

let fast: TestCluster;
let plain: TestCluster;

before(async () => {
  fast = await startCluster({ nodes: 1 });
  process.env.RAFTLAB_GRPC_FAST_PATH = '0'; // workers copy the environment when they start
  try {
    plain = await startCluster({ nodes: 1 });
  } finally {
    delete process.env.RAFTLAB_GRPC_FAST_PATH;
  }
});
after(async () => {
  await fast?.stop();
  await plain?.stop();
});

const defs = etcdServiceDefinitions();

interface Answer {
  headers: Record<string, unknown>;
  trailers: Record<string, unknown>;
  body: Buffer;
}

/** One gRPC call as raw HTTP/2: `body` is sent as is (normally a 5-byte frame header and the message). */
function call(endpoint: string, path: string, body: Buffer, extraHeaders: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${endpoint}`);
    session.on('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', ...extraHeaders });
    const answer: Answer = { headers: {}, trailers: {}, body: Buffer.alloc(0) };
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (answer.headers = { ...h }));
    stream.on('trailers', (t) => (answer.trailers = { ...t }));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('close', () => {
      answer.body = Buffer.concat(chunks);
      session.close();
      resolve(answer);
    });
    stream.on('error', reject);
    stream.end(body);
  });
}

function framed(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}
const encode = (service: string, method: string, request: object) => defs[service]![method]!.requestSerialize(request) as Buffer;

/** The answer without what differs between two clusters (date, ids and terms in the response header). */
function comparable(service: string, method: string, a: Answer): unknown {
  const { date: _d, ...headers } = a.headers;
  let message: unknown = a.body.length;
  if (a.body.length >= 5) {
    const decoded = defs[service]![method]!.responseDeserialize(a.body.subarray(5)) as Record<string, unknown>;
    const { header: _h, ...rest } = decoded;
    message = rest;
  }
  return { headers, trailers: a.trailers, message };
}

async function same(service: string, method: string, body: Buffer, extraHeaders?: Record<string, string>, path = `/etcdserverpb.${service}/${method}`): Promise<unknown> {
  const [f, p] = await Promise.all([call(fast.endpoints[0]!, path, body, extraHeaders), call(plain.endpoints[0]!, path, body, extraHeaders)]);
  const a = comparable(service, method, f);
  assert.deepEqual(a, comparable(service, method, p));
  return a;
}

test('the fast path is in place with the grpc-js this project pins', () => {
  const server = new Server();
  server.createConnectionInjector(ServerCredentials.createInsecure());
  assert.equal(installUnaryFastPath(server, defs, {}, 1024), true, 'grpc-js changed inside: unary calls would all go through grpc-js');
  server.forceShutdown();
});

test('answers: put, range, txn, lease grant', async () => {
  await same('KV', 'Put', framed(encode('KV', 'Put', { key: Buffer.from('fast/a'), value: Buffer.from('1') })));
  const range = (await same('KV', 'Range', framed(encode('KV', 'Range', { key: Buffer.from('fast/a') })))) as { message: { count: string } };
  assert.equal(range.message.count, '1');
  await same('KV', 'Txn', framed(encode('KV', 'Txn', { compare: [{ key: Buffer.from('fast/a'), target: 'VALUE', result: 'EQUAL', value: Buffer.from('1') }], success: [{ requestPut: { key: Buffer.from('fast/a'), value: Buffer.from('2') } }] })));
  await same('KV', 'Range', framed(encode('KV', 'Range', { key: Buffer.from('fast/'), rangeEnd: Buffer.from('fast0'), serializable: true })));
  await same('Lease', 'LeaseGrant', framed(encode('Lease', 'LeaseGrant', { TTL: '60', ID: '777' })));
});

test("etcd's errors, with their codes and messages", async () => {
  const empty = (await same('KV', 'Put', framed(encode('KV', 'Put', { key: Buffer.alloc(0), value: Buffer.from('x') })))) as { headers: Record<string, unknown> };
  assert.equal(empty.headers['grpc-status'], '3');
  assert.equal(empty.headers['grpc-message'], 'etcdserver:%20key%20is%20not%20provided');
  await same('Lease', 'LeaseRevoke', framed(encode('Lease', 'LeaseRevoke', { ID: '12345' })));
  await same('KV', 'Range', framed(encode('KV', 'Range', { key: Buffer.from('a'), revision: '999999' })));
});

test('requests grpc-js refuses: too large, not protobuf, no message, two messages, unknown method, compressed', async () => {
  const tooLarge = Buffer.alloc(5);
  tooLarge.writeUInt32BE(64 * 1024 * 1024, 1);
  const big = (await same('KV', 'Put', tooLarge)) as { headers: Record<string, unknown> };
  assert.equal(big.headers['grpc-status'], '8');
  await same('KV', 'Put', framed(Buffer.from([0xff, 0xff, 0xff])));
  await same('KV', 'Put', Buffer.alloc(0));
  const one = framed(encode('KV', 'Range', { key: Buffer.from('a') }));
  await same('KV', 'Range', Buffer.concat([one, one]));
  await same('KV', 'Nope', one);
  const gz = Buffer.from(one);
  gz[0] = 1;
  await same('KV', 'Range', gz, { 'grpc-encoding': 'gzip' });
});

test('odd bodies and headers are answered as grpc-js answers them', async () => {
  const one = framed(encode('KV', 'Range', { key: Buffer.from('a') }));
  await same('KV', 'Range', one.subarray(0, one.length - 2)); // a message cut short
  const flagged = Buffer.from(one);
  flagged[0] = 1; // the compressed flag without an encoding
  await same('KV', 'Range', flagged);
  await same('KV', 'Range', Buffer.concat([one, Buffer.from([0, 0, 0])])); // a stray partial frame after it
  const oversizedSecond = Buffer.alloc(5);
  oversizedSecond.writeUInt32BE(64 * 1024 * 1024, 1);
  await same('KV', 'Range', Buffer.concat([one, oversizedSecond])); // a second frame declared too large
  await same('KV', 'Range', Buffer.concat([one, one, Buffer.alloc(256 * 1024)])); // a second message, then more
  await same('KV', 'Range', one, { 'grpc-timeout': 'abc' });
  await same('KV', 'Range', one, { 'grpc-timeout': '5S' });
});
