// `npm run bench:http2-floor [-- --concurrency 64 --seconds 6]`: the CPU that Node's HTTP/2 server alone spends on
// one unary gRPC call — three servers in three worker threads, as Raft Lab's peers are, each answering every
// call with a fixed empty RangeResponse and nothing else — driven by the benchmark's own client. Every call to
// Raft Lab pays at least this, so it is the floor under the cluster CPU per operation that `npm run bench` prints.
import { spawn } from 'node:child_process';
import { freePortRange } from '../scripts/free-port.ts';
import { UnaryChannel, encodeRange } from './grpc-unary.ts';
import { cpuMicrosOf } from './systems.ts';

// Runs in each worker: the least a gRPC server can do for a unary call over node:http2.
const SERVER = `
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

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

async function main(): Promise<void> {
  const concurrency = option('concurrency', 64);
  const seconds = option('seconds', 6);
  const port = await freePortRange(3);
  const ports = [port, port + 1, port + 2];
  const launcher = `const { Worker } = require('node:worker_threads');
for (const port of ${JSON.stringify(ports)}) new Worker(${JSON.stringify(SERVER)}, { eval: true, workerData: port });`;
  const child = spawn(process.execPath, ['-e', launcher], { stdio: 'inherit' });
  try {
    const channels = ports.map((p) => new UnaryChannel(`127.0.0.1:${p}`));
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
    const server = (cpuMicrosOf(child.pid!) - server0) / calls;
    const client = process.cpuUsage(client0);
    console.log(
      `bare node:http2 servers, c=${concurrency}: ${Math.round(calls / seconds)} calls/s  server CPU ${Math.round(server)} µs/call  ` +
        `client CPU ${Math.round((client.user + client.system) / calls)} µs/call`,
    );
  } finally {
    child.kill();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
