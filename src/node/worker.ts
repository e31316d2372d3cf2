// Entry point of one peer's worker thread: opens its LevelDB folder, recovers, and runs the peer until told to
// stop (or terminated: a crash, after which only synced writes survive).
import { randomInt } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { RaftNode } from '../raft/raft-node.ts';
import { SeededRng } from '../raft/rand.ts';
import type { Config, PersistedState } from '../raft/types.ts';
import { PeerStorage, StorageError } from '../storage/peer-storage.ts';
import { answerLeaseCall } from '../api/etcd/lease-service.ts';
import { overQuota } from '../api/etcd/quota.ts';
import { decodeRequest } from '../kv/codec.ts';
import { startClientServer, type ClientServer } from './client-server.ts';
import { KvPeer } from './kv-peer.ts';
import { PeerLinks } from './peer-links.ts';
import { PeerCallError, PeerRuntime, TIMED_OUT } from './peer-runtime.ts';
import { termRuns } from './term-runs.ts';
import { withOwnedBytes } from '../kv/owned-bytes.ts';
import type { ForwardCall, FromPeer, PeerInit, PeerStatus, ToPeer } from './protocol.ts';

const port = parentPort!;
const post = (msg: FromPeer) => port.postMessage(msg);
const STATUS_MIN_INTERVAL_MS = 50;

async function main(init: PeerInit): Promise<void> {
  let storage: PeerStorage;
  try {
    storage = await PeerStorage.open(init.dataDir, { clusterId: init.clusterId, peerId: init.id, name: init.name });
  } catch (err) {
    post({ t: 'fatal', message: (err as Error).message, code: err instanceof StorageError ? err.code : 'io' });
    return;
  }
  let state: PersistedState | undefined;
  try {
    state = await storage.load();
  } catch (err) {
    await storage.close().catch(() => undefined);
    post({ t: 'fatal', message: (err as Error).message, code: err instanceof StorageError ? err.code : 'io' });
    return;
  }
  if (!state) {
    if (init.bootstrap === 'join') state = RaftNode.joining();
    else if (init.restore) state = RaftNode.restoring(init.bootstrap, init.restore.data, init.restore.index);
    else state = RaftNode.bootstrap(init.bootstrap);
    await storage.save({ entries: state.entries, hardState: state.hardState, ...(state.snapshot ? { snapshot: state.snapshot } : {}), committedEntries: [], messages: [], readStates: [] });
  }

  const config: Config = {
    id: init.id,
    heartbeatTick: 1,
    electionTick: Math.max(2, Math.round(init.timing.electionMs / init.timing.heartbeatMs)),
    preVote: true,
    checkQuorum: true,
    maxInflightMsgs: 256,
    maxSizePerMsg: 1024 * 1024,
    maxAppliedEntriesInMemory: init.memoryEntries,
    rng: new SeededRng(randomInt(2 ** 31)),
  };
  const node = new RaftNode(config, state);
  const kv = new KvPeer(init);
  if (state.snapshot) kv.restore(state.snapshot.data);

  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  let lastStatusAt = 0;
  let latencySamples: number[] = [];
  const postStatus = () => {
    statusTimer = undefined;
    lastStatusAt = performance.now();
    const raft = runtime.status();
    const status: PeerStatus = {
      raft,
      name: init.name,
      ...kv.info(),
      paused: runtime.isPaused(),
      electionProgress: raft.randomizedElectionTimeout > 0 ? Math.min(1, raft.electionElapsed / raft.randomizedElectionTimeout) : 0,
      tickMs: init.timing.heartbeatMs,
      logTerms: termRuns((i) => node.term(i), raft.firstIndex, raft.lastIndex),
      latencySamples,
      linkCounts: Object.fromEntries(links.counts),
    };
    latencySamples = [];
    post({ t: 'status', status });
  };
  const statusChanged = () => {
    if (statusTimer) return;
    const wait = Math.max(0, STATUS_MIN_INTERVAL_MS - (performance.now() - lastStatusAt));
    statusTimer = setTimeout(postStatus, wait);
  };

  const links = new PeerLinks(
    (msgs) => runtime.receive(msgs),
    (msgs) => runtime.undeliverable(msgs),
  );
  const runtime = new PeerRuntime(node, storage, kv, {
    timing: init.timing,
    snapshotCount: init.snapshotCount,
    catchUpEntries: init.catchUpEntries,
    requestTimeoutMs: init.requestTimeoutMs,
    send: (msgs) => links.send(msgs),
    connected: (peer) => links.connected(peer),
    onChange: statusChanged,
    // Latencies travel with the next status (at most 20 a second), not in a message per Ready.
    onApplied: (_count, latencyMs) => {
      if (latencyMs !== undefined && latencySamples.length < 1000) latencySamples.push(latencyMs);
    },
    onFatal: (err) => post({ t: 'fatal', message: `storage failed: ${(err as Error).message}`, code: 'io' }),
  });
  kv.attach(runtime);

  // Calls the etcd API hands to the manager (to reach the leader, or to change membership).
  const forwards = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> }>();
  let nextForwardId = 1;
  const forward = (call: ForwardCall): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const id = nextForwardId++;
      // Adding a member waits for it to catch up: allow it more time than a request.
      const wait = call.op === 'toLeader' ? init.requestTimeoutMs : init.requestTimeoutMs * 6;
      const timer = setTimeout(() => forwards.delete(id) && reject(TIMED_OUT()), wait);
      forwards.set(id, { resolve, reject, timer });
      post({ t: 'forward', id, call });
    });

  let clientServer: ClientServer | undefined;
  if (init.clientPort) {
    try {
      clientServer = await startClientServer(init, runtime, kv, { forward });
    } catch (err) {
      kv.close();
      await storage.close().catch(() => undefined);
      post({ t: 'fatal', message: (err as Error).message, code: 'clientPort' });
      return;
    }
  }


  port.on('message', (msg: ToPeer) => {
    switch (msg.t) {
      case 'link':
        links.connect(msg.peer, msg.port);
        return;
      case 'unlink':
        links.disconnect(msg.peer);
        return;
      case 'rules':
        links.setRules(msg.rules);
        return;
      case 'call':
        void handleCall(msg.id, msg.call);
        return;
      case 'pause':
        runtime.pause();
        return;
      case 'resume':
        runtime.resume();
        return;
      case 'members':
        kv.setMembers(msg.memberPorts, msg.names);
        return;
      case 'forwarded': {
        const waiter = forwards.get(msg.id);
        if (!waiter) return;
        forwards.delete(msg.id);
        clearTimeout(waiter.timer);
        if (msg.ok) waiter.resolve(msg.value);
        else waiter.reject(new PeerCallError(msg.error.message, msg.error.code));
        return;
      }
      case 'crash':
        // Freeze the peer, reset its client connections, then end the thread once the sockets are closed.
        runtime.pause();
        void clientServer?.close();
        setTimeout(() => process.exit(1), 20);
        return;
      case 'stop':
        void (async () => {
          if (statusTimer) clearTimeout(statusTimer);
          await clientServer?.close();
          kv.close();
          await runtime.stop();
          await storage.close().catch(() => undefined);
          links.close();
          post({ t: 'stopped' });
          port.close();
        })();
        return;
    }
  });

  async function handleCall(id: number, call: ToPeer & { t: 'call' } extends { call: infer C } ? C : never): Promise<void> {
    try {
      let value: unknown;
      switch (call.op) {
        case 'propose':
          // The manager's writes (`raftlab ctl put`, the Keys view) are under the space quota as clients' are.
          value = await (overQuota({ init, kv, runtime }, decodeRequest(call.command)) ?? runtime.propose(call.command));
          break;
        case 'read':
          value = await runtime.read(call.command, call.linearizable);
          break;
        case 'transferLeader':
          await runtime.transferLeader(call.to);
          break;
        case 'confChange':
          await runtime.confChange(call.change);
          break;
        case 'promote':
          await runtime.promote(call.id);
          break;
        case 'checkAddMember':
          runtime.checkAddMember();
          break;
        case 'campaign':
          runtime.campaign();
          break;
        case 'lease':
          value = answerLeaseCall({ kv }, call.lease);
          break;
      }
      post({ t: 'result', id, ok: true, value: withOwnedBytes(value) });
    } catch (err) {
      const e = err as { message?: string; code?: unknown };
      post({ t: 'result', id, ok: false, error: { message: e.message ?? String(err), code: typeof e.code === 'string' ? e.code : 'UNKNOWN' } });
    }
  }

  runtime.start();
  post({ t: 'started', clientPort: init.clientPort });
  postStatus();
}

main(workerData as PeerInit).catch((err: unknown) => {
  post({ t: 'fatal', message: (err as Error).message ?? String(err), code: 'internal' });
});
