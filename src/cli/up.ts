// `raftlab up`: runs a cluster in this process until Ctrl-C, with the control API and a live status table.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { readSnapshotFile, SnapshotFileError } from '../api/etcd/snapshot-file.ts';
import { ControlServer } from '../api/control-server.ts';
import { ClusterManager, DEFAULT_MEMORY_ENTRIES, DEFAULT_SNAPSHOT_COUNT } from '../cluster/cluster-manager.ts';
import { foundingMembers, recordedMembers } from '../cluster/cluster-record.ts';
import { voterEndpoints, type ClusterEvent } from '../cluster/status.ts';
import { renderStatusTable } from '../cluster/status-table.ts';
import { intFlag, stringFlag, UsageError, type Args, type FlagSpec } from './args.ts';

export const UP_FLAGS: FlagSpec = {
  values: ['nodes', 'data-dir', 'port', 'control-port', 'timing', 'snapshot-count', 'memory-entries', 'restore', 'quota-backend-bytes'],
  switches: ['memory'],
};

export async function runUp(args: Args, dashboardDir: string | undefined): Promise<number> {
  if (args.positional.length > 0) throw new UsageError(`raftlab up takes only flags, got ${JSON.stringify(args.positional[0])}`);
  const nodes = intFlag(args, 'nodes', 3, 1, 7);
  const port = intFlag(args, 'port', 2379, 1, 65535);
  const controlPort = intFlag(args, 'control-port', 2378, 0, 65535);
  const timing = stringFlag(args, 'timing', 'etcd');
  if (timing !== 'etcd' && timing !== 'fast') throw new UsageError(`--timing is etcd or fast, got ${JSON.stringify(timing)}`);
  const memory = args.flags.get('memory') === true;
  const dataDir = stringFlag(args, 'data-dir', '.raftlab');
  const snapshotCount = intFlag(args, 'snapshot-count', DEFAULT_SNAPSHOT_COUNT, 10, 10_000_000);
  const memoryEntries = intFlag(args, 'memory-entries', DEFAULT_MEMORY_ENTRIES, 0, 10_000_000);
  // etcd's flag: 0 for etcd's default (2 GiB), negative for no quota.
  const quotaBackendBytes = intFlag(args, 'quota-backend-bytes', 0, -1, Number.MAX_SAFE_INTEGER);
  const restoreFile = args.flags.get('restore');
  const restore = typeof restoreFile === 'string' ? await readRestore(restoreFile) : undefined;

  // Fail early, naming the port, rather than half-start a cluster. A folder that already holds a cluster has
  // its own members (ids, and so ports, change as members are added and removed); --nodes is for a new one.
  const members = memory ? undefined : await recordedMembers(dataDir);
  if (members && args.flags.has('nodes') && nodes !== members.length) {
    console.log(`--nodes ${nodes} is ignored: ${dataDir} holds a cluster of ${members.length} (${members.map((m) => m.name).join(', ')}); \`raftlab ctl add\` and \`remove\` change it`);
  }
  for (const m of members ?? foundingMembers(nodes)) {
    await assertPortFree(port + m.id - 1, 'client', m.name);
  }
  if (controlPort) await assertPortFree(controlPort, 'control');

  const manager = await ClusterManager.start({ nodes, dataDir, memory, timing, clientPortBase: port, snapshotCount, memoryEntries, quotaBackendBytes, ...(restore ? { restore } : {}) });
  if (restore) console.log(`restored the store saved in ${restoreFile} (at raft index ${restore.index})`);
  let control: ControlServer;
  try {
    control = await ControlServer.start(manager, { port: controlPort, ...(dashboardDir ? { dashboardDir } : {}) });
  } catch (err) {
    await manager.stop();
    throw err;
  }
  await manager.waitForLeader(10_000).catch(() => undefined);

  console.log(`ETCDCTL_ENDPOINTS=${endpointsLine(manager)}`);
  console.log(`control: ${control.url}`);
  if (dashboardDir) console.log(`dashboard: ${control.dashboardUrl}`);
  console.log(memory ? 'data: in memory' : `data: ${dataDir}`);

  const stopLive = process.stdout.isTTY ? liveTable(manager) : plainLines(manager);
  await new Promise<void>((resolve) => {
    const shutdown = () => resolve();
    process.once('SIGINT', shutdown);
    process.once('SIGTERM', shutdown);
  });
  stopLive();
  console.log('\nstopping...');
  await control.close();
  await manager.stop();
  console.log('stopped cleanly');
  return 0;
}

function assertPortFree(port: number, what: 'client' | 'control', member?: string): Promise<void> {
  // A member's client port is --port plus its id minus one, so another --port moves every member's.
  const advice = what === 'client' ? 'choose another base port with --port' : 'choose another with --control-port';
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new UsageError(err.code === 'EADDRINUSE' ? `${what} port ${port}${member ? ` (${member}'s)` : ''} on 127.0.0.1 is already in use; stop what uses it or ${advice}` : err.message)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve()));
  });
}

/** The voting members' endpoints as ETCDCTL_ENDPOINTS takes them; membership changes move them, so they are printed again. */
function endpointsLine(manager: ClusterManager): string {
  return voterEndpoints(manager.status().peers).join(',');
}

/** Redraws the status table in place (a terminal). */
function liveTable(manager: ClusterManager): () => void {
  let drawn = 0;
  const first = endpointsLine(manager);
  const draw = () => {
    const events = manager.status().events.slice(-5).map(formatEvent);
    const now = endpointsLine(manager);
    const moved = now === first ? '' : `members changed: ETCDCTL_ENDPOINTS=${now}\n\n`;
    const text = `${moved}${renderStatusTable(manager.status())}\n\nrecent events:\n${events.join('\n')}\n(Ctrl-C to stop)`;
    if (drawn) process.stdout.write(`\x1b[${drawn}A\x1b[J`);
    process.stdout.write(`${text}\n`);
    drawn = text.split('\n').length;
  };
  const timer = setInterval(draw, 500);
  draw();
  return () => clearInterval(timer);
}

/** Prints events and a status line when something changes (not a terminal: logs, CI). */
function plainLines(manager: ClusterManager): () => void {
  console.log(renderStatusTable(manager.status()));
  let printed = endpointsLine(manager);
  const onEvent = (e: ClusterEvent) => console.log(formatEvent(e));
  manager.on('event', onEvent);
  // Checked on a timer, not on the membership events: the leader's configuration reaches the status a moment later.
  const timer = setInterval(() => {
    const now = endpointsLine(manager);
    if (now !== printed) console.log(`ETCDCTL_ENDPOINTS=${(printed = now)}`);
  }, 500);
  return () => {
    clearInterval(timer);
    manager.off('event', onEvent);
  };
}

function formatEvent(e: ClusterEvent): string {
  return `${new Date(e.at).toISOString()} ${e.message}`;
}

/** The store in a file from `etcdctl snapshot save` (against Raft Lab), checked before anything starts. */
async function readRestore(file: string): Promise<{ data: Uint8Array; index: number }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    const { data, appliedIndex } = readSnapshotFile(bytes, file);
    return { data, index: Math.max(1, appliedIndex) };
  } catch (err) {
    if (err instanceof SnapshotFileError) throw new UsageError(err.message);
    throw err;
  }
}
