// A running Raft Lab cluster (through LocalCluster, as the extension starts it) for the extension model tests.
import { freePortRange } from '../api/support.ts';
import { LocalCluster } from '../../src/extension/runtime.ts';

export async function startLocal(nodes = 3): Promise<LocalCluster> {
  const clientPortBase = await freePortRange(nodes);
  const cluster = await LocalCluster.start({ nodes, timing: 'fast', clientPortBase });
  await cluster.manager.waitForLeader();
  return cluster;
}

export const text = (s: string) => new TextEncoder().encode(s);
export const str = (b: Uint8Array) => new TextDecoder().decode(b);
