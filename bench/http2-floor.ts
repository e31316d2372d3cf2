// `npm run bench:http2-floor [-- --concurrency 64 --seconds 6]`: the CPU that an HTTP/2 server alone spends on one
// unary gRPC call — three servers in three worker threads, as Raft Lab's peers are, each answering every call with
// a fixed empty response and nothing else — driven by the benchmark's own client. Two servers, one after the
// other: Node's `node:http2` (what Raft Lab's gRPC runs on, so every call to Raft Lab pays at least this), and a
// bare frame loop over a TCP socket that answers from pre-encoded frames without decoding the request's headers
// (a lower bound for an HTTP/2 server written for gRPC, not a server: no HPACK, no flow control of its own).
import { spawn } from 'node:child_process';
import { freePortRange } from '../scripts/free-port.ts';
import { UnaryChannel, encodeRange } from './grpc-unary.ts';
import { cpuMicrosOf } from './systems.ts';

// Runs in each worker: the least a gRPC server on node:http2 can do for a unary call.
const NODE_HTTP2 = `
const { createServer } = require('node:http2');
const { workerData } = require('node:worker_threads');
const empty = Buffer.from([0, 0, 0, 0, 0]);
createServer()
  .on('stream', (stream) => {
    stream.on('data', () => {});
    stream.on('end', () => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(empty);
    });
  })
  .listen(workerData, '127.0.0.1');`;

// Runs in each worker: HTTP/2 frames read off the socket in a loop; a request's last DATA frame is answered with
// HEADERS (:status 200 from HPACK's static table, content-type as a literal), a DATA frame holding an empty gRPC
// message and trailers; SETTINGS and PING are acknowledged and received data is credited back to the client.
const FRAME_LOOP = `
const net = require('node:net');
const { workerData } = require('node:worker_threads');
const frame = (type, flags, stream, payload) => {
  const b = Buffer.alloc(9 + payload.length);
  b.writeUIntBE(payload.length, 0, 3); b[3] = type; b[4] = flags; b.writeUInt32BE(stream, 5); payload.copy(b, 9);
  return b;
};
const literal = (name, value) => Buffer.concat([Buffer.from([0, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
const HEADERS = Buffer.concat([Buffer.from([0x88]), literal('content-type', 'application/grpc')]);
const TRAILERS = literal('grpc-status', '0');
const EMPTY = Buffer.from([0, 0, 0, 0, 0]);
const answer = (stream) => Buffer.concat([frame(1, 4, stream, HEADERS), frame(0, 0, stream, EMPTY), frame(1, 5, stream, TRAILERS)]);
net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  socket.write(frame(4, 0, 0, Buffer.alloc(0)));
  let pending = Buffer.alloc(0);
  let prefaceRead = false;
  let credit = 0;
  socket.on('data', (chunk) => {
    const buf = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let at = 0;
    if (!prefaceRead) { if (buf.length < 24) { pending = buf; return; } at = 24; prefaceRead = true; }
    const out = [];
    while (buf.length - at >= 9) {
      const length = buf.readUIntBE(at, 3);
      if (buf.length - at < 9 + length) break;
      const type = buf[at + 3], flags = buf[at + 4], stream = buf.readUInt32BE(at + 5) & 0x7fffffff;
      if (type === 4 && !(flags & 1)) out.push(frame(4, 1, 0, Buffer.alloc(0)));
      else if (type === 6 && !(flags & 1)) out.push(frame(6, 1, 0, buf.subarray(at + 9, at + 17)));
      else if (type === 0) { credit += length; if (flags & 1) out.push(answer(stream)); }
      at += 9 + length;
    }
    if (credit > 16384) { const w = Buffer.alloc(4); w.writeUInt32BE(credit); out.push(frame(8, 0, 0, w)); credit = 0; }
    pending = buf.subarray(at);
    if (out.length > 0) socket.write(out.length === 1 ? out[0] : Buffer.concat(out));
  });
}).listen(workerData, '127.0.0.1');`;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main(): Promise<void> {
  const concurrency = option('concurrency', 64);
  const seconds = option('seconds', 6);
  for (const [name, source] of [['node:http2', NODE_HTTP2], ['frame loop', FRAME_LOOP]] as const) {
    const { calls, serverMicros, clientMicros } = await measure(source, concurrency, seconds);
    console.log(
      `${name.padEnd(10)} servers, c=${concurrency}: ${Math.round(calls / seconds)} calls/s  server CPU ${Math.round(serverMicros / calls)} µs/call  ` +
        `client CPU ${Math.round(clientMicros / calls)} µs/call`,
    );
  }
  process.exit(0);
}

async function measure(server: string, concurrency: number, seconds: number): Promise<{ calls: number; serverMicros: number; clientMicros: number }> {
  const port = await freePortRange(3);
  const ports = [port, port + 1, port + 2];
  const launcher = `const { Worker } = require('node:worker_threads');
for (const port of ${JSON.stringify(ports)}) new Worker(${JSON.stringify(server)}, { eval: true, workerData: port });`;
  const child = spawn(process.execPath, ['-e', launcher], { stdio: 'inherit' });
  const channels = ports.map((p) => new UnaryChannel(`127.0.0.1:${p}`));
  try {
    const request = encodeRange(Buffer.from('k'), true);
    // Wait until every server answers.
    for (const channel of channels) {
      for (let tries = 0; ; tries++) {
        try {
          await channel.call('/etcdserverpb.KV/Range', request, 1000);
          break;
        } catch (err) {
          if (tries > 100) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }
    let calls = 0;
    let next = 0;
    const deadline = Date.now() + seconds * 1000;
    const server0 = cpuMicrosOf(child.pid!);
    const client0 = process.cpuUsage();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < deadline) {
          await channels[next++ % channels.length]!.call('/etcdserverpb.KV/Range', request, 5000);
          calls++;
        }
      }),
    );
    const client = process.cpuUsage(client0);
    return { calls, serverMicros: cpuMicrosOf(child.pid!) - server0, clientMicros: client.user + client.system };
  } finally {
    for (const channel of channels) channel.close();
    const exited = new Promise((r) => child.once('exit', r));
    child.kill();
    await exited;
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
