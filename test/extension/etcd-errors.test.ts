// etcd's gRPC errors reach the user explained: a value over the 1.5 MiB request limit (written nowhere), an
// endpoint nobody listens on. Against a real running cluster, and the mapping itself on etcd's own messages.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { freePortRange } from '../api/support.ts';
import { ValueTooLargeError, explainEtcdError } from '../../src/keys/etcd-errors.ts';
import { ValueFiles } from '../../src/keys/value-files.ts';
import { ExternalConnection, type LocalCluster } from '../../src/extension/runtime.ts';
import { startLocal, text } from './support.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocal(1);
});
after(async () => cluster?.stop());

const MB = 1000 * 1000;

test('a value over the request limit is refused in words, and nothing is written', async () => {
  const files = new ValueFiles(cluster.source);
  for (const size of [1.6 * MB, 2.8 * MB]) {
    await assert.rejects(files.write(text('/big'), new Uint8Array(size).fill(0x61)), (err: unknown) => {
      assert.ok(err instanceof ValueTooLargeError, String(err));
      assert.match(err.message, /^the value \([12]\.[68] MB\) is over etcd's 1\.5 MiB request limit; nothing was written$/);
      return true;
    });
  }
  // nothing was written, and the client still answers at once (no endpoint was marked as failing)
  assert.equal((await cluster.source.range({ key: text('/big') })).kvs.length, 0);
});

test('an endpoint where nothing listens: "cannot reach etcd at host:port (connection refused)"', async () => {
  const port = await freePortRange(1);
  await assert.rejects(ExternalConnection.connect({ endpoints: [`127.0.0.1:${port}`], dialTimeoutMs: 1000 }), (err: Error) => {
    assert.equal(err.message, `cannot reach etcd at 127.0.0.1:${port} (connection refused)`);
    return true;
  });
});

test('an endpoint that accepts connections and never answers: connect fails after the call deadline, not never', { timeout: 60_000 }, async () => {
  // A frozen etcd, another service on the port, a firewall dropping packets: the TCP connection opens, then silence.
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => {
    sockets.add(socket.on('error', () => undefined));
  });
  await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
  const port = (silent.address() as AddressInfo).port;
  try {
    const started = Date.now();
    await assert.rejects(ExternalConnection.connect({ endpoints: [`127.0.0.1:${port}`], dialTimeoutMs: 1000 }), (err: Error) => {
      assert.equal(err.message, 'etcd did not answer within 10 s: it may be stopped or overloaded, or the endpoint may not be etcd');
      return true;
    });
    assert.ok(Date.now() - started < 45_000, `gave up after ${Date.now() - started} ms`);
  } finally {
    for (const socket of sockets) socket.destroy(); // close() alone leaves accepted connections (and this file) open
    silent.close();
  }
});

test("etcd's messages, as the etcd3 client reports them", () => {
  const explain = (message: string, bytes?: number) => (explainEtcdError(new Error(message), bytes) as Error).message;
  assert.equal(explain('8 RESOURCE_EXHAUSTED: Received message larger than max (2800063 vs 2097152)'), "the value (2.8 MB) is over etcd's 1.5 MiB request limit; nothing was written");
  assert.equal(explain('3 INVALID_ARGUMENT: etcdserver: request is too large', 1_600_000), "the value (1.6 MB) is over etcd's 1.5 MiB request limit; nothing was written");
  assert.equal(
    explain('14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:24999. Resolution note: '),
    'cannot reach etcd at 127.0.0.1:24999 (connection refused)',
  );
  assert.match(explain('Execution prevented because the circuit breaker is open'), /^no etcd endpoint answers right now/);
  assert.equal(explain('etcdserver: mvcc: required revision has been compacted'), 'etcdserver: mvcc: required revision has been compacted');
  assert.match(explain('14 UNAVAILABLE: etcdserver: request timed out', 5), /^the cluster did not commit the write in time: it has no leader, .*may or may not have happened\)$/);
  assert.match(explain('14 UNAVAILABLE: etcdserver: request timed out'), /^the cluster did not answer in time: it has no leader/);
  assert.match(explain('14 UNAVAILABLE: etcdserver: no leader'), /^the cluster has no leader right now: a majority/);
  assert.match(explain('2 UNKNOWN: context deadline exceeded', 5), /^the cluster has no leader: the write waited for one and was not made/);
  assert.match(explain('14 UNAVAILABLE: etcdserver: request timed out, possibly due to previous leader failure', 5), /^the cluster did not commit the write in time/);
  assert.match(explain('14 UNAVAILABLE: etcdserver: leader changed'), /^the leader changed while the request was in flight/);
  assert.equal(explain('4 DEADLINE_EXCEEDED: Deadline exceeded after 10.002s', 5), 'etcd did not answer within 10 s: it may be stopped or overloaded, or the endpoint may not be etcd (the write may or may not have happened)');
  assert.match(explain('8 RESOURCE_EXHAUSTED: etcdserver: mvcc: database space exceeded', 5), /^the cluster's disk is full \(etcd's NOSPACE alarm/);
  // Anything else of etcd's comes without gRPC's status prefix.
  assert.equal(explain('11 OUT_OF_RANGE: etcdserver: mvcc: required revision is a future revision'), 'etcdserver: mvcc: required revision is a future revision');
});
