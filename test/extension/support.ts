// A running Raft Lab cluster (through LocalCluster, as the extension starts it) for the extension model tests.
import { freePortRange } from '../api/support.ts';
import { LocalCluster } from '../../src/extension/runtime.ts';

export async function startLocal(nodes = 3): Promise<LocalCluster> {
  const clientPortBase = await freePortRange(nodes);
  const cluster = await LocalCluster.start({ nodes, timing: 'fast', clientPortBase });
  try {
    await cluster.manager.waitForLeader();
  } catch (err) {
    // The caller never gets the cluster to stop: its workers would keep the test process from exiting.
    await cluster.stop().catch(() => undefined);
    throw err;
  }
  return cluster;
}

export const text = (s: string) => new TextEncoder().encode(s);
export const str = (b: Uint8Array) => new TextDecoder().decode(b);
