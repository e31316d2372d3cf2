// The scripted sequence of the differential test, and how its answers are normalised: cluster and member ids,
// raft terms and lease ids (which every server mints its own way) are replaced; everything else, revisions
// included, must match. Each step returns { step, result } where result is a response or an error.
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import type { RawClient } from './support.ts';

type Wire = Record<string, unknown>;
export interface StepResult {
  step: string;
  result: unknown;
}

const b = (s: string) => Buffer.from(s);
const LARGE = 700 * 1024;

/** Replaces ids that legitimately differ; keeps every other field. */
class Normaliser {
  private readonly leases = new Map<string, string>();

  lease(id: unknown): string {
    const key = String(id);
    if (key === '0') return '0';
    if (!this.leases.has(key)) this.leases.set(key, `lease#${this.leases.size + 1}`);
    return this.leases.get(key)!;
  }

  value(v: unknown, field = ''): unknown {
    if (Buffer.isBuffer(v)) return v.length > 256 ? `<${v.length} bytes>` : v.toString('latin1');
    if (Array.isArray(v)) return v.map((x) => this.value(x, field));
    if (v === null || typeof v !== 'object') return (field === 'ID' || field === 'lease') && typeof v === 'string' ? this.lease(v) : v;
    const out: Wire = {};
    for (const [k, x] of Object.entries(v as Wire)) {
      if (k === 'header') {
        out.header = { revision: (x as Wire | null)?.revision };
        continue;
      }
      out[k] = this.value(x, k);
    }
    return out;
  }
}

function errorOf(err: unknown): { code: number; details: string } {
  const e = err as ServiceError;
  return { code: e.code, details: e.details };
}

/** Collects a watch's responses until `done` says so (or 5 s pass), then closes the stream. */
async function watchUntil(c: RawClient, create: Wire, done: (responses: Wire[]) => boolean, writes?: () => Promise<void>): Promise<Wire[]> {
  const stream: ClientDuplexStream<Wire, Wire> = c.watch();
  const responses: Wire[] = [];
  let resolveDone: () => void = () => undefined;
  const finished = new Promise<void>((r) => (resolveDone = r));
  stream.on('data', (r: Wire) => {
    responses.push(r);
    if (done(responses)) resolveDone();
  });
  stream.on('error', () => resolveDone());
  stream.write({ createRequest: create });
  const timer = setTimeout(resolveDone, 5000);
  // Writes that the watch should see, sent once it is created.
  if (writes) {
    while (responses.length === 0) await new Promise((r) => setTimeout(r, 10));
    await writes();
  }
  await finished;
  clearTimeout(timer);
  stream.cancel();
  return responses;
}

const eventCount = (rs: Wire[]) => rs.reduce((n, r) => n + ((r.events as unknown[]) ?? []).length, 0);

export async function script(c: RawClient): Promise<StepResult[]> {
  const n = new Normaliser();
  const results: StepResult[] = [];
  const run = async (step: string, fn: () => Promise<unknown>) => {
    let result: unknown;
    try {
      result = n.value(await fn());
    } catch (err) {
      result = { error: errorOf(err) };
    }
    results.push({ step, result });
  };
  const { kv, lease } = c;

  // ---- puts and ranges
  await run('put a', () => kv.Put({ key: b('a'), value: b('1') }));
  await run('put b prev_kv (none)', () => kv.Put({ key: b('b'), value: b('2'), prevKv: true }));
  await run('put a prev_kv', () => kv.Put({ key: b('a'), value: b('3'), prevKv: true }));
  await run('put c, d, e', async () => [await kv.Put({ key: b('c'), value: b('zz') }), await kv.Put({ key: b('d'), value: b('y') }), await kv.Put({ key: b('e'), value: b('x') })]);
  await run('put binary key', () => kv.Put({ key: Buffer.from([0xff, 0x00, 0x01]), value: b('bin') }));
  await run('range a', () => kv.Range({ key: b('a') }));
  await run('range missing', () => kv.Range({ key: b('nope') }));
  await run('range [a, d)', () => kv.Range({ key: b('a'), rangeEnd: b('d') }));
  await run('range all', () => kv.Range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]) }));
  await run('range from c', () => kv.Range({ key: b('c'), rangeEnd: Buffer.from([0]) }));
  await run('range limit 2', () => kv.Range({ key: b('a'), rangeEnd: b('z'), limit: 2 }));
  await run('range limit 10', () => kv.Range({ key: b('a'), rangeEnd: b('z'), limit: 10 }));
  for (const sortTarget of ['KEY', 'VERSION', 'CREATE', 'MOD', 'VALUE']) {
    for (const sortOrder of ['NONE', 'ASCEND', 'DESCEND']) {
      await run(`range sort ${sortTarget} ${sortOrder} limit 3`, () => kv.Range({ key: b('a'), rangeEnd: b('z'), sortTarget, sortOrder, limit: 3 }));
    }
  }
  await run('range keys_only', () => kv.Range({ key: b('a'), rangeEnd: b('z'), keysOnly: true }));
  await run('range count_only', () => kv.Range({ key: b('a'), rangeEnd: b('z'), countOnly: true }));
  await run('range serializable', async () => {
    // A serializable read may lag on a follower; ask until it has caught up, then compare.
    for (let i = 0; i < 50; i++) {
      const r = await kv.Range({ key: b('e'), serializable: true });
      if ((r.kvs as unknown[]).length === 1) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
    return kv.Range({ key: b('e'), serializable: true });
  });
  await run('range at revision 2', () => kv.Range({ key: b('a'), rangeEnd: b('z'), revision: 2 }));
  await run('range at revision 3', () => kv.Range({ key: b('a'), revision: 3 }));
  await run('range future revision', () => kv.Range({ key: b('a'), revision: 1000 }));
  await run('range min_mod_revision 4', () => kv.Range({ key: b('a'), rangeEnd: b('z'), minModRevision: 4 }));
  await run('range max_mod_revision 4', () => kv.Range({ key: b('a'), rangeEnd: b('z'), maxModRevision: 4 }));
  await run('range min_create 3 max_create 5', () => kv.Range({ key: b('a'), rangeEnd: b('z'), minCreateRevision: 3, maxCreateRevision: 5 }));
  await run('range filters with limit', () => kv.Range({ key: b('a'), rangeEnd: b('z'), minModRevision: 3, limit: 1 }));

  // ---- deletes
  await run('delete missing (revision unchanged)', () => kv.DeleteRange({ key: b('zzz') }));
  await run('delete e prev_kv', () => kv.DeleteRange({ key: b('e'), prevKv: true }));
  await run('put e again (version restarts)', () => kv.Put({ key: b('e'), value: b('again') }));
  await run('range e', () => kv.Range({ key: b('e') }));
  await run('put p/1 p/2 p/3', async () => [await kv.Put({ key: b('p/1'), value: b('1') }), await kv.Put({ key: b('p/2'), value: b('2') }), await kv.Put({ key: b('p/3'), value: b('3') })]);
  await run('delete prefix p/ prev_kv', () => kv.DeleteRange({ key: b('p/'), rangeEnd: b('p0'), prevKv: true }));

  // ---- txns
  const put = (key: string, value: string) => ({ requestPut: { key: b(key), value: b(value) } });
  const get = (key: string) => ({ requestRange: { key: b(key) } });
  const del = (key: string) => ({ requestDeleteRange: { key: b(key) } });
  await run('txn version equal -> success', () => kv.Txn({ compare: [{ key: b('a'), target: 'VERSION', result: 'EQUAL', version: 2 }], success: [put('t1', 'yes'), get('t1')], failure: [put('t1', 'no')] }));
  await run('txn version equal -> failure', () => kv.Txn({ compare: [{ key: b('a'), target: 'VERSION', result: 'EQUAL', version: 9 }], success: [put('t1', 'yes')], failure: [get('a')] }));
  await run('txn failed compare, no writes (revision unchanged)', () => kv.Txn({ compare: [{ key: b('a'), target: 'VALUE', result: 'EQUAL', value: b('nope') }] }));
  await run('txn value compare on missing key', () => kv.Txn({ compare: [{ key: b('missing'), target: 'VALUE', result: 'NOT_EQUAL', value: b('x') }], success: [get('a')], failure: [get('b')] }));
  await run('txn missing key create == 0', () => kv.Txn({ compare: [{ key: b('missing'), target: 'CREATE', result: 'EQUAL', createRevision: 0 }], success: [put('t2', 'created')] }));
  await run('txn mod greater / less', () => kv.Txn({ compare: [{ key: b('a'), target: 'MOD', result: 'GREATER', modRevision: 1 }, { key: b('b'), target: 'CREATE', result: 'LESS', createRevision: 100 }], success: [get('a'), get('b')] }));
  await run('txn lease compare', () => kv.Txn({ compare: [{ key: b('a'), target: 'LEASE', result: 'EQUAL', lease: 0 }], success: [get('a')] }));
  await run('txn range compare', () => kv.Txn({ compare: [{ key: b('a'), rangeEnd: b('c'), target: 'VERSION', result: 'GREATER', version: 0 }], success: [get('b')] }));
  await run('txn several puts, one revision', () => kv.Txn({ success: [put('m1', '1'), put('m2', '2'), del('t2')] }));
  await run('txn get and put of the same key', () => kv.Txn({ success: [get('m1'), put('m1', 'again')] }));
  await run('txn nested', () => kv.Txn({ success: [{ requestTxn: { compare: [{ key: b('m1'), target: 'VALUE', result: 'EQUAL', value: b('again') }], success: [put('nested', 'yes')], failure: [put('nested', 'no')] } }, get('m2')] }));
  await run('txn duplicate key', () => kv.Txn({ success: [put('x', '1'), put('x', '2')] }));
  await run('txn duplicate key across branches', () => kv.Txn({ success: [put('x', '1')], failure: [put('x', '2')] }));
  await run('txn put and delete of one key', () => kv.Txn({ success: [put('x', '1'), del('x')] }));
  await run('txn 129 operations', () => kv.Txn({ success: Array.from({ length: 129 }, (_, i) => get(`k${i}`)) }));
  await run('txn 128 operations', async () => {
    const r = await kv.Txn({ success: Array.from({ length: 128 }, (_, i) => get(`k${i}`)) });
    return { ...r, responses: (r.responses as unknown[]).length };
  });
  await run('txn empty', () => kv.Txn({}));

  // ---- errors on bad requests
  await run('put empty key', () => kv.Put({ key: b(''), value: b('v') }));
  await run('range empty key', () => kv.Range({ key: b('') }));
  await run('delete empty key', () => kv.DeleteRange({ key: b('') }));
  await run('put ignore_value on a missing key', () => kv.Put({ key: b('nokey'), ignoreValue: true }));
  await run('put ignore_value with a value', () => kv.Put({ key: b('a'), value: b('v'), ignoreValue: true }));
  await run('put ignore_value keeps the value', () => kv.Put({ key: b('a'), ignoreValue: true, prevKv: true }));
  await run('put with an unknown lease', () => kv.Put({ key: b('a'), value: b('v'), lease: '123456' }));
  await run('put a value over the request limit', () => kv.Put({ key: b('big'), value: Buffer.alloc(1.6 * 1024 * 1024, 1) }));

  // ---- leases
  let leaseId = '0';
  await run('lease grant 100', async () => {
    const r = await lease.LeaseGrant({ TTL: 100 });
    leaseId = String(r.ID);
    return r;
  });
  await run('lease grant 1 gets the minimum TTL', () => lease.LeaseGrant({ TTL: 1 }));
  await run('lease grant with an id', () => lease.LeaseGrant({ TTL: 60, ID: '4242' }));
  await run('lease grant an existing id', () => lease.LeaseGrant({ TTL: 60, ID: '4242' }));
  await run('put l1, l2 with the lease', async () => [await kv.Put({ key: b('l1'), value: b('1'), lease: leaseId }), await kv.Put({ key: b('l2'), value: b('2'), lease: leaseId })]);
  await run('range l1 shows the lease', () => kv.Range({ key: b('l1') }));
  await run('lease time-to-live with keys', async () => {
    const r = await lease.LeaseTimeToLive({ ID: leaseId, keys: true });
    const ttl = Number(r.TTL);
    // etcd lists a lease's keys from a Go map, in no fixed order.
    const keys = ((r.keys as Buffer[]) ?? []).map((k) => k.toString()).sort();
    return { ...r, keys, TTL: ttl > 95 && ttl <= 100 ? 'about 100' : ttl };
  });
  await run('lease time-to-live of an unknown lease', () => lease.LeaseTimeToLive({ ID: '999999' }));
  await run('lease leases', async () => {
    const r = await lease.LeaseLeases({});
    // Order of the list is not part of etcd's contract; compare as a set.
    return { ...r, leases: ((r.leases as Wire[]) ?? []).map((l) => n.lease(l.ID)).sort() };
  });
  await run('put with ignore_lease keeps the lease', () => kv.Put({ key: b('l1'), value: b('1b'), ignoreLease: true, prevKv: true }));
  await run('lease revoke deletes the keys', () => lease.LeaseRevoke({ ID: leaseId }));
  await run('range l after revoke', () => kv.Range({ key: b('l'), rangeEnd: b('m') }));
  await run('lease revoke again', () => lease.LeaseRevoke({ ID: leaseId }));
  await run('lease revoke 4242', () => lease.LeaseRevoke({ ID: '4242' }));

  // ---- watches from past revisions
  const current = async () => Number(((await kv.Range({ key: b('a') })).header as Wire).revision);
  const rev = await current();
  await run('watch all from revision 2 with prev_kv', async () => {
    const rs = await watchUntil(c, { key: Buffer.from([0]), rangeEnd: Buffer.from([0]), startRevision: 2, prevKv: true }, (r) => r.some((x) => Number(((x.header as Wire).revision)) >= rev && eventCount(r) > 0 && lastEventRevision(r) >= rev));
    return rs;
  });
  await run('watch prefix p/ from revision 2, NOPUT', async () => watchUntil(c, { key: b('p/'), rangeEnd: b('p0'), startRevision: 2, filters: ['NOPUT'] }, (r) => eventCount(r) >= 3));
  await run('watch live key with a put and a delete', async () =>
    watchUntil(c, { key: b('w'), prevKv: true }, (r) => eventCount(r) >= 2, async () => {
      await kv.Put({ key: b('w'), value: b('1') });
      await kv.DeleteRange({ key: b('w') });
    }),
  );
  await run('watch with a range end below its key', () => watchUntil(c, { key: b('wb'), rangeEnd: b('wa') }, (r) => r.length >= 1));
  await run('watch with a range end equal to its key', () => watchUntil(c, { key: b('wa'), rangeEnd: b('wa') }, (r) => r.length >= 1));
  await run('watch large events fragmented', async () => {
    await kv.Put({ key: b('big1'), value: Buffer.alloc(LARGE, 1) });
    await kv.Put({ key: b('big2'), value: Buffer.alloc(LARGE, 2) });
    return watchUntil(c, { key: b('big'), rangeEnd: b('bih'), prevKv: true, fragment: true }, (r) => eventCount(r) >= 2, async () => {
      await kv.Txn({ success: [put('big1', 'x'.repeat(LARGE)), put('big2', 'y'.repeat(LARGE))] });
    });
  });

  // ---- compaction
  await run('compact at 5', () => kv.Compact({ revision: 5 }));
  await run('compact at 5 again', () => kv.Compact({ revision: 5 }));
  await run('compact at 3', () => kv.Compact({ revision: 3 }));
  await run('compact in the future', () => kv.Compact({ revision: 100000 }));
  await run('range below the compaction', () => kv.Range({ key: b('a'), revision: 4 }));
  await run('range at the compaction', () => kv.Range({ key: b('a'), rangeEnd: b('z'), revision: 5 }));
  await run('watch from a compacted revision', () => watchUntil(c, { key: b('a'), startRevision: 3 }, (r) => r.some((x) => x.canceled === true)));
  await run('watch from the compaction revision', () => watchUntil(c, { key: b('a'), rangeEnd: b('z'), startRevision: 5 }, (r) => eventCount(r) >= 1));
  // ---- alarms: what is refused while one is raised, and the answers to raising and clearing
  const alarm = (action: string, alarm: string, memberID = '42') => c.maintenance.Alarm({ action, memberID, alarm });
  // etcd lists alarms in Go's map order (random): compared sorted by member id.
  const listed = async (alarm: string) => {
    const r = await c.maintenance.Alarm({ action: 'GET', memberID: '0', alarm });
    const byMember = (a: Wire, b: Wire) => (BigInt(a.memberID as string) < BigInt(b.memberID as string) ? -1 : 1);
    return { ...r, alarms: [...((r.alarms as Wire[]) ?? [])].sort(byMember) };
  };
  await run('alarm list, none raised', () => listed('NONE'));
  await run('alarm activate NOSPACE', () => alarm('ACTIVATE', 'NOSPACE'));
  await run('alarm activate NOSPACE again', () => alarm('ACTIVATE', 'NOSPACE'));
  // (Not 'ACTIVATE NONE': etcd 3.4 raises a NONE alarm, 3.5 nothing, as Raft Lab; see src/api/etcd/README.md.)
  await run('alarm activate NOSPACE for a member id above 2^63', () => alarm('ACTIVATE', 'NOSPACE', '18446744073709551610'));
  await run('alarm list NOSPACE', () => listed('NOSPACE'));
  await run('put under NOSPACE', () => kv.Put({ key: b('full'), value: b('1') }));
  await run('txn with a put in its failure branch under NOSPACE', () => kv.Txn({ success: [del('a')], failure: [put('full', '1')] }));
  await run('txn deleting under NOSPACE', () => kv.Txn({ success: [del('c')] }));
  await run('delete under NOSPACE', () => kv.DeleteRange({ key: b('d') }));
  await run('lease grant under NOSPACE', () => lease.LeaseGrant({ TTL: 60 }));
  await run('compact under NOSPACE', () => kv.Compact({ revision: 6 }));
  await run('alarm deactivate NOSPACE', () => alarm('DEACTIVATE', 'NOSPACE'));
  await run('alarm deactivate NOSPACE again', () => alarm('DEACTIVATE', 'NOSPACE'));
  await run('put with NOSPACE still raised for another member', () => kv.Put({ key: b('full'), value: b('1') }));
  await run('alarm deactivate the other NOSPACE', () => alarm('DEACTIVATE', 'NOSPACE', '18446744073709551610'));
  await run('put after the alarms are cleared', () => kv.Put({ key: b('full'), value: b('2') }));
  await run('alarm activate CORRUPT', () => alarm('ACTIVATE', 'CORRUPT'));
  await run('delete under CORRUPT', () => kv.DeleteRange({ key: b('full') }));
  await run('range under CORRUPT', () => kv.Range({ key: b('full') }));
  await run('alarm list', () => listed('NONE'));
  await run('alarm deactivate CORRUPT', () => alarm('DEACTIVATE', 'CORRUPT'));
  await run('delete after CORRUPT is cleared', () => kv.DeleteRange({ key: b('full') }));

  await run('final range', () => kv.Range({ key: Buffer.from([0]), rangeEnd: Buffer.from([0]), keysOnly: true }));
  return results;
}

function lastEventRevision(rs: Wire[]): number {
  let last = 0;
  for (const r of rs) for (const e of (r.events as Wire[]) ?? []) last = Math.max(last, Number((e.kv as Wire).modRevision));
  return last;
}
