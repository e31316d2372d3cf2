// The plain-HTTP endpoints etcd serves on its client port next to gRPC: /health (what health checks and
// container probes call), /version, /metrics in Prometheus' text format (what dashboards scrape and
// `etcdctl check` reads), and the JSON gateway under /v3/ (gateway.ts). Everything else is a 404.
import { getHeapStatistics } from 'node:v8';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceContext } from './context.ts';
import type { Gateway } from './gateway.ts';
import { memberIdOf } from './header.ts';
import { SERVER_VERSION } from './maintenance-service.ts';
import { quotaBytes } from './quota.ts';

/** etcd gives its health check's quorum read one second. */
const HEALTH_READ_MS = 1000;

export interface HttpEndpoints {
  handle(req: IncomingMessage, res: ServerResponse): void;
}

export function httpEndpoints(ctx: ServiceContext, gateway: Gateway): HttpEndpoints {
  return {
    handle(req, res) {
      const path = (req.url ?? '/').split('?')[0]!;
      if (gateway.handles(path)) return gateway.handle(req, res, path);
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain', 'method not allowed\n');
      switch (path) {
        case '/health':
          void health(ctx, new URL(req.url ?? '/', 'http://x').searchParams.getAll('exclude')).then(({ ok, reason }) => send(res, ok ? 200 : 503, 'application/json', JSON.stringify({ health: String(ok), reason })));
          return;
        case '/version':
          return send(res, 200, 'application/json', JSON.stringify({ etcdserver: SERVER_VERSION, etcdcluster: '3.5.0' }));
        case '/metrics':
          return send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', metrics(ctx));
        default:
          return send(res, 404, 'text/plain', '404 page not found\n');
      }
    },
  };
}

/** A whole answer with its length (no body for HEAD). */
export function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

/**
 * As etcd: healthy when no alarm is raised (but those named in `?exclude=`), this member knows a leader and a
 * quorum read through it completes in time.
 */
async function health(ctx: ServiceContext, excluded: string[]): Promise<{ ok: boolean; reason: string }> {
  const alarm = ctx.kv.sm.alarms.list().find((a) => !excluded.includes(a.alarm));
  if (alarm) return { ok: false, reason: `ALARM ${alarm.alarm}` };
  if (ctx.leader() === 0) return { ok: false, reason: 'RAFT NO LEADER' };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), HEALTH_READ_MS)));
  try {
    await Promise.race([ctx.runtime.linearizableBarrier(), late]);
    return { ok: true, reason: '' };
  } catch (err) {
    return { ok: false, reason: `QGET ERROR: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** etcd's names for what this member can tell about itself. */
function metrics(ctx: ServiceContext): string {
  const s = ctx.runtime.status();
  const info = ctx.kv.info();
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number, labels = '') => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}${labels} ${value}`);
  };
  metric('etcd_server_has_leader', 'gauge', 'Whether or not a leader exists. 1 is existence, 0 is not.', s.lead === 0 ? 0 : 1);
  metric('etcd_server_is_leader', 'gauge', 'Whether or not this member is a leader. 1 if is, 0 otherwise.', s.role === 'leader' ? 1 : 0);
  metric('etcd_server_is_learner', 'gauge', 'Whether or not this member is a learner. 1 if is, 0 otherwise.', s.isLearner ? 1 : 0);
  metric('etcd_server_id', 'gauge', 'Server or member ID in hexadecimal format. 1 for current ID.', 1, `{server_id="${BigInt(memberIdOf(ctx.init.clusterId, ctx.init.id)).toString(16)}"}`);
  metric('etcd_server_leader_changes_seen_total', 'counter', 'The number of leader changes seen.', ctx.runtime.counters.leaderChanges);
  metric('etcd_server_proposals_committed_total', 'gauge', 'The total number of consensus proposals committed.', s.commit);
  metric('etcd_server_proposals_applied_total', 'gauge', 'The total number of consensus proposals applied.', s.applied);
  metric('etcd_server_proposals_pending', 'gauge', 'The current number of pending proposals to commit.', ctx.runtime.proposalsPending);
  metric('etcd_server_proposals_failed_total', 'counter', 'The total number of failed proposals seen.', ctx.runtime.counters.proposalsFailed);
  metric('etcd_server_version', 'gauge', 'Which version is running. 1 for \'server_version\' label with current version.', 1, `{server_version="${SERVER_VERSION}"}`);
  metric('etcd_cluster_version', 'gauge', 'Which version is running. 1 for \'cluster_version\' label with current cluster version', 1, '{cluster_version="3.5"}');
  metric('etcd_server_term', 'gauge', 'The current Raft term of this member (Raft Lab).', s.term);
  metric('etcd_debugging_mvcc_current_revision', 'gauge', 'The current revision of store.', info.revision);
  metric('etcd_debugging_mvcc_compact_revision', 'gauge', 'The revision of the last compaction in store.', Math.max(0, info.compactRevision));
  metric('etcd_debugging_mvcc_keys_total', 'gauge', 'Total number of keys.', info.keys);
  metric('etcd_debugging_mvcc_watcher_total', 'gauge', 'Total number of watchers.', ctx.kv.sm.watches.size);
  metric('etcd_debugging_mvcc_slow_watcher_total', 'gauge', 'Total number of unsynced slow watchers.', ctx.kv.sm.watches.pausedCount);
  metric('etcd_mvcc_db_total_size_in_bytes', 'gauge', 'Total size of the underlying database physically allocated in bytes.', ctx.kv.sm.dbSize);
  metric('etcd_mvcc_db_total_size_in_use_in_bytes', 'gauge', 'Total size of the underlying database logically in use in bytes.', ctx.kv.sm.dbSizeInUse);
  metric('etcd_server_quota_backend_bytes', 'gauge', 'Current backend storage quota size in bytes.', quotaBytes(ctx.init.quotaBackendBytes));
  // Raft Lab's log is a LevelDB per peer: each Ready's entries and hard state go in one synced batch.
  lines.push(
    '# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL (Raft Lab: the synced LevelDB batch of each Ready).',
    '# TYPE etcd_disk_wal_fsync_duration_seconds histogram',
    ...ctx.runtime.counters.walSync.lines('etcd_disk_wal_fsync_duration_seconds'),
  );
  // Every peer runs in one process (a worker thread each): this is the whole cluster's resident memory.
  metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes (of the whole Raft Lab process).', process.memoryUsage.rss());
  // This peer's own V8 isolate (each peer is a worker thread with its own heap), named as Node's Prometheus client names them.
  const heap = getHeapStatistics();
  const usage = process.memoryUsage();
  metric('nodejs_heap_size_total_bytes', 'gauge', "Total size of this peer's V8 heap in bytes.", heap.total_heap_size);
  metric('nodejs_heap_size_used_bytes', 'gauge', "Used size of this peer's V8 heap in bytes.", heap.used_heap_size);
  metric('nodejs_external_memory_bytes', 'gauge', "Memory outside this peer's V8 heap held by its objects (array buffers among them), in bytes.", usage.external);
  metric('nodejs_array_buffers_bytes', 'gauge', "Memory of this peer's ArrayBuffers and SharedArrayBuffers (Node Buffers among them), in bytes.", usage.arrayBuffers);
  return `${lines.join('\n')}\n`;
}
