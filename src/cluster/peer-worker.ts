// A peer's worker thread as the manager starts and stops it: the bundle (or the TypeScript source under tsx), a
// small young generation, and a crash that is a crash (the worker stops where it is; no clean close).
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { PeerInit } from '../node/protocol.ts';

/** Crashes a peer: its worker freezes, drops its client connections and exits without closing its folder (only synced writes survive); terminated if it has not exited within a second. */
export async function crash(worker: Worker): Promise<void> {
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage({ t: 'crash' });
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 1000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') await worker.terminate();
}

const WORKER_YOUNG_GENERATION_MB = Number(process.env.RAFTLAB_WORKER_YOUNG_MB) || 8;

/** Starts a peer's worker: the bundled dist/worker.js next to this bundle, or the TypeScript source via tsx. */
export function spawnWorker(init: PeerInit): Worker {
  // A small young generation per peer: V8's default lets each of the isolates grow tens of MB of nursery under
  // load, which was most of the cluster's memory (docs/performance.md).
  const resourceLimits = { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB };
  if (!__filename.endsWith('.ts')) return new Worker(join(__dirname, 'worker.js'), { workerData: init, resourceLimits });
  const source = join(__dirname, '..', 'node', 'worker.ts');
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(source)});`, { eval: true, workerData: init, resourceLimits });
}
