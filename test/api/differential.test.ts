// Differential test: the same scripted sequence against a real 3-member etcd and against Raft Lab, through
// the same raw gRPC client; the normalised responses (ids, terms and timing removed) must be identical.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { hasBinary, rawClient, startCluster, startRealEtcd, type RawClient, type RealEtcd, type TestCluster } from './support.ts';
import { script } from './differential-script.ts';

const skip = hasBinary('etcd') ? false : 'the etcd binary is not installed (Debian: apt-get install etcd-server)';
if (skip) console.log(`# skipping the differential test: ${skip}`);

let etcd: RealEtcd | undefined;
let lab: TestCluster | undefined;
const clients: RawClient[] = [];

before(async () => {
  if (skip) return;
  // etcd timing, so that Raft Lab's minimum lease TTL (1.5 election timeouts) is etcd's 2 s.
  [etcd, lab] = await Promise.all([startRealEtcd(), startCluster({ timing: 'etcd' })]);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.allSettled([etcd?.stop(), lab?.stop()]);
});

test('Raft Lab answers the scripted sequence exactly as real etcd does', { skip, timeout: 180_000 }, async () => {
  // Both talk to a member that is not told to be leader: etcd's e1 and Raft Lab's n1 (either may lead).
  const real = rawClient(etcd!.endpoints[0]!);
  const ours = rawClient(lab!.endpoints[0]!);
  clients.push(real, ours);
  const expected = await script(real);
  const actual = await script(ours);
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.deepStrictEqual(actual[i], expected[i], `step ${i} (${expected[i]!.step}) differs`);
  }
  assert.ok(expected.length > 60, `the script ran ${expected.length} steps`);
  // The comparison covers fragmenting only if etcd really fragmented that watch response.
  const fragmented = expected.find((s) => s.step === 'watch large events fragmented')!.result as Array<{ fragment: boolean }>;
  assert.ok(fragmented.some((r) => r.fragment), 'etcd fragmented the large watch response');
});
