// `raftlab ctl`: one request to a running cluster's control API, printed for people (or as JSON).
import WebSocket from 'ws';
import type { ControlReply, ControlRequest } from '../api/control-protocol.ts';
import type { AlarmView } from '../cluster/kv-client.ts';
import type { ClusterStatus } from '../cluster/status.ts';
import { renderStatusTable } from '../cluster/status-table.ts';
import { stringFlag, UsageError, type Args, type FlagSpec } from './args.ts';

export const CTL_FLAGS: FlagSpec = { values: ['control'], switches: ['json', 'oneway', 'learner'] };
/** The switches that belong to one command only. */
const ONLY_WITH: Record<string, string> = { oneway: 'partition', learner: 'add' };

export async function runCtl(args: Args): Promise<number> {
  const url = stringFlag(args, 'control', process.env.RAFTLAB_CONTROL ?? 'ws://127.0.0.1:2378');
  const [command, ...rest] = args.positional;
  for (const [flag, owner] of Object.entries(ONLY_WITH)) {
    if (args.flags.has(flag) && command !== owner) throw new UsageError(`--${flag} goes with raftlab ctl ${owner}, not ${command ?? 'nothing'}`);
  }
  const request = toRequest(command, rest, args);
  const reply = await send(url, request);
  if (!reply.ok) {
    console.error(`Error: ${reply.error.message}`);
    return 1;
  }
  print(request, reply.result, args.flags.get('json') === true);
  return 0;
}

function toRequest(command: string | undefined, rest: string[], args: Args): ControlRequest {
  const need = (n: number, usage: string) => {
    if (rest.length !== n) throw new UsageError(`usage: raftlab ctl ${usage}`);
  };
  const number = (s: string, what: string) => {
    // Decimal only: Number() would also take "0x10" (16), "" (0) and "1e3".
    const n = /^\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
    if (!Number.isFinite(n)) throw new UsageError(`${what} must be a non-negative decimal number, got ${JSON.stringify(s)}`);
    return n;
  };
  switch (command) {
    case 'status':
      need(0, 'status [--json]');
      return { op: 'status' };
    case 'kill':
    case 'restart':
    case 'pause':
    case 'resume':
    case 'isolate':
    case 'transfer':
    case 'promote':
    case 'remove':
      need(1, `${command} <peer>`);
      return { op: command, peer: rest[0]! };
    case 'partition':
      if (rest.length === 0) throw new UsageError('usage: raftlab ctl partition <peers...> [--oneway]');
      return { op: 'partition', peers: rest, oneWay: args.flags.get('oneway') === true };
    case 'drop':
      need(3, 'drop <from> <to> <percent>');
      return { op: 'drop', from: rest[0]!, to: rest[1]!, percent: number(rest[2]!, 'percent') };
    case 'delay':
      need(3, 'delay <from> <to> <ms>');
      return { op: 'delay', from: rest[0]!, to: rest[1]!, ms: number(rest[2]!, 'ms') };
    case 'heal':
      need(0, 'heal');
      return { op: 'heal' };
    case 'add':
      need(0, 'add [--learner]');
      return { op: 'add', learner: args.flags.get('learner') === true };
    case 'put':
      need(2, 'put <key> <value>');
      return { op: 'put', key: rest[0]!, value: rest[1]! };
    case 'get':
      need(1, 'get <key>');
      return { op: 'get', key: rest[0]! };
    case 'alarm': {
      need(1, 'alarm <list|nospace|corrupt|disarm>');
      const what = rest[0]!.toLowerCase();
      if (what === 'list' || what === 'disarm') return { op: 'alarm', action: what };
      if (what === 'nospace' || what === 'corrupt') return { op: 'alarm', action: 'raise', alarm: what === 'nospace' ? 'NOSPACE' : 'CORRUPT' };
      throw new UsageError(`usage: raftlab ctl alarm <list|nospace|corrupt|disarm> (got ${JSON.stringify(rest[0])})`);
    }
    default:
      throw new UsageError(`unknown ctl command ${JSON.stringify(command ?? '')}; try raftlab help`);
  }
}

function send(url: string, request: ControlRequest): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer from ${url} within 30 s`));
    }, 30_000);
    ws.on('open', () => ws.send(JSON.stringify({ v: 1, id: 1, ...request })));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.id !== 1) return;
      clearTimeout(timer);
      ws.close();
      resolve(msg as ControlReply);
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the control API at ${url} (${err.message}); is \`raftlab up\` running?`));
    });
  });
}

function print(request: ControlRequest, result: unknown, json: boolean): void {
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  switch (request.op) {
    case 'status':
      console.log(renderStatusTable(result as ClusterStatus));
      return;
    case 'get': {
      const r = result as { key: string; value: string | null };
      if (r.value !== null) console.log(`${r.key}\n${r.value}`);
      return;
    }
    case 'add':
      console.log(`added ${(result as { name: string }).name}${request.learner ? ' as a learner' : ''}`);
      return;
    case 'alarm': {
      const alarms = result as AlarmView[];
      const lines = alarms.map((a) => `${a.alarm} ${a.member}${a.member === a.memberID ? '' : ` (member ${a.memberID})`}`);
      if (request.action === 'list') console.log(lines.length > 0 ? lines.join('\n') : 'no alarms');
      else if (request.action === 'raise') console.log(`raised ${lines.join(', ')}`);
      else console.log(lines.length > 0 ? `disarmed ${lines.join(', ')}` : 'no alarms to disarm');
      return;
    }
    default:
      console.log('OK');
  }
}
