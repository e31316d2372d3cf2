// Crash-durability loop: `raftlab up` runs in a child process under a load of acknowledged puts and is
// SIGKILLed at a random moment; it is restarted from the same folder and every acknowledged write must be
// there. Usage: npm run crashloop -- --rounds N   (last line: `<N> rounds, <L> lost writes`)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { freePortRange } from './free-port.ts';

const CLI = join(__dirname, '..', 'dist', 'cli.js');

interface Cluster {
  child: ChildProcess;
  ws: WebSocket;
  call(body: object): Promise<{ ok: boolean; result?: any; error?: { message: string } }>;
}


async function startCluster(dataDir: string, port: number, controlPort: number): Promise<Cluster> {
  // Snapshots every 500 entries, so that rounds also crash peers while they write and compact snapshots, and
  // only 100 applied entries in memory, so that a peer behind after a restart is caught up from read-backs.
  const up = ['up', '--data-dir', dataDir, '--port', String(port), '--control-port', String(controlPort), '--timing', 'fast', '--snapshot-count', '500', '--memory-entries', '100'];
  const child = spawn(process.execPath, [CLI, ...up], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`raftlab up did not become ready:\n${output}`)), 20_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (output.includes('control: ws://')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`raftlab up exited with ${code}:\n${output}`)));
  });
  const ws = new WebSocket(`ws://127.0.0.1:${controlPort}`);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  let next = 1;
  const waiting = new Map<number, (reply: any) => void>();
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  ws.on('close', () => {
    for (const resolve of waiting.values()) resolve({ ok: false, error: { message: 'connection closed' } });
    waiting.clear();
  });
  ws.on('error', () => undefined);
  return {
    child,
    ws,
    call: (body) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ v: 1, id, ...body }));
        else resolve({ ok: false, error: { message: 'connection closed' } });
      }),
  };
}

async function killHard(cluster: Cluster): Promise<void> {
  const exited = new Promise((r) => cluster.child.once('exit', r));
  cluster.child.kill('SIGKILL');
  await exited;
  cluster.ws.terminate();
}

async function stopGently(cluster: Cluster): Promise<void> {
  const exited = new Promise((r) => cluster.child.once('exit', r));
  cluster.ws.close();
  cluster.child.kill('SIGTERM');
  await exited;
}

/** Runs the loop; returns how many acknowledged writes were missing after restarts. */
export async function runCrashRounds(rounds: number, log: (line: string) => void = () => undefined): Promise<{ rounds: number; lost: number; acked: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'raftlab-crash-'));
  let lost = 0;
  let ackedTotal = 0;
  let pending: Map<string, string> = new Map(); // acknowledged in the previous round, to verify now
  try {
    for (let round = 1; round <= rounds + 1; round++) {
      // Fresh ports every round, below the ephemeral range: one kept for minutes can be taken meanwhile.
      const cluster = await startCluster(dataDir, await freePortRange(3), await freePortRange(1));
      try {
        // Every write acknowledged before the last crash must have survived it.
        let missing = 0;
        for (const [key, value] of pending) {
          let reply = await cluster.call({ op: 'get', key });
          for (let retry = 0; !reply.ok && retry < 50; retry++) {
            await new Promise((r) => setTimeout(r, 100)); // no leader yet
            reply = await cluster.call({ op: 'get', key });
          }
          if (!reply.ok) throw new Error(`cannot read ${key} after restart: ${reply.error?.message}`);
          if (reply.result.value !== value) missing++;
        }
        lost += missing;
        if (round > 1) log(`round ${round - 1}: ${pending.size} acknowledged writes, ${missing} lost`);
        if (round > rounds) {
          await stopGently(cluster);
          break;
        }
        // Load: several puts in flight at once, until a random moment.
        pending = new Map();
        const killAt = Date.now() + 200 + Math.random() * 800;
        let seq = 0;
        const writer = async () => {
          while (Date.now() < killAt) {
            const key = `crash/${round}/${seq++}`;
            const value = `v${round}-${seq}`;
            const reply = await cluster.call({ op: 'put', key, value });
            if (reply.ok) pending.set(key, value);
            else if (Date.now() < killAt) await new Promise((r) => setTimeout(r, 20));
          }
        };
        const writers = Array.from({ length: 8 }, writer);
        await new Promise((r) => setTimeout(r, killAt - Date.now()));
        await killHard(cluster);
        await Promise.all(writers);
        ackedTotal += pending.size;
      } catch (err) {
        if (cluster.child.exitCode === null) await killHard(cluster);
        throw err;
      }
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
  return { rounds, lost, acked: ackedTotal };
}

if (require.main === module) {
  const at = process.argv.indexOf('--rounds');
  const rounds = at > 0 ? Number(process.argv[at + 1]) : 20;
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error('usage: npm run crashloop -- --rounds N');
    process.exit(2);
  }
  runCrashRounds(rounds, (line) => console.log(line)).then(
    ({ rounds: n, lost, acked }) => {
      console.log(`${acked} acknowledged writes in all`);
      console.log(`${n} rounds, ${lost} lost writes`);
      process.exitCode = lost > 0 ? 1 : 0;
    },
    (err: Error) => {
      console.error(err.message);
      process.exitCode = 1;
    },
  );
}
