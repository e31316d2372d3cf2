// Shared helpers for tests that run a real cluster (real workers, LevelDB folders, sockets).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterManager, type ClusterOptions } from '../../src/cluster/cluster-manager.ts';
import type { PeerView } from '../../src/cluster/status.ts';

export async function tempDir(prefix = 'raftlab-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls until `check` returns a truthy value; fails with `what` after timeoutMs. */
export async function waitFor<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await sleep(25);
  }
}

/**
 * Timing for tests: quicker than etcd's (100 ms / 1000 ms) so tests run fast, with enough slack that a busy
 * 2-core machine does not cause spurious elections.
 */
export const TEST_TIMING = { heartbeatMs: 25, electionMs: 300 };

/** Starts a cluster in a fresh temp folder with test timing; cleanup via the returned stop(). */
export async function startCluster(options: ClusterOptions = {}): Promise<{ manager: ClusterManager; dir: string; stop: () => Promise<void> }> {
  const dir = await tempDir();
  const manager = await ClusterManager.start({ nodes: 3, timing: TEST_TIMING, dataDir: dir, ...options });
  return {
    manager,
    dir,
    stop: async () => {
      await manager.stop();
      await removeDir(dir);
    },
  };
}

export function peer(manager: ClusterManager, name: string): PeerView {
  const view = manager.status().peers.find((p) => p.name === name);
  if (!view) throw new Error(`no peer ${name}`);
  return view;
}

/** True when every up peer has applied the same index (and at least `min`). */
export function converged(manager: ClusterManager, min = 0): boolean {
  const up = manager.status().peers.filter((p) => p.state === 'up');
  return up.length > 0 && up.every((p) => p.applied === up[0]!.applied && p.applied >= min && p.commit === p.applied);
}

/**
 * A put that retries while there is no leader: on a busy 2-core machine with 100 ms election timeouts, an
 * election can happen at any time, and a test about something else should ride it out as a client would.
 */
export async function putRetrying(manager: ClusterManager, key: string, value: string, timeoutMs = 10_000): Promise<void> {
  const { kvPut } = await import('../../src/cluster/kv-client.ts');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await kvPut(manager, key, value);
      return;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'UNAVAILABLE' || Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}

/** A linearizable get that retries while there is no leader (see putRetrying). */
export async function getRetrying(manager: ClusterManager, key: string, timeoutMs = 10_000): Promise<string | null> {
  const { kvGet } = await import('../../src/cluster/kv-client.ts');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return (await kvGet(manager, key)).value;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code !== 'UNAVAILABLE' || Date.now() > deadline) throw err;
      await sleep(50);
    }
  }
}
