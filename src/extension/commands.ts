// Every Raft Lab command: cluster lifecycle, faults, membership, keys, external etcd. Each asks for what it
// needs (peers listed with their role), reports the result, and never lets an error escape to the host.
import * as vscode from 'vscode';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PeerView } from '../cluster/status.ts';
import { asUtf8, displayBytes, isBinaryValue, parseKeyInput, prefixEnd, previewValue, toHex } from '../keys/bytes.ts';
import { parseEndpoints } from '../keys/endpoints.ts';
import { SCHEME } from '../keys/key-uri.ts';
import type { FolderNode, KeyNode, MoreNode, TreeNode } from '../keys/key-tree.ts';
import type { ClusterNode } from './cluster-view.ts';
import type { KeysViewProvider } from './keys-view.ts';
import { explainMembershipRefusal } from './membership-refusal.ts';
import type { Session } from './session.ts';
import { roleText } from './status-text.ts';
import { keyOfUri, keyUri } from './value-fs.ts';

const MAX_INPUT_BYTES = 1024 * 1024;

export interface CommandContext {
  context: vscode.ExtensionContext;
  session: Session;
  keys: KeysViewProvider;
  openDashboard(): void;
}

/** Wraps a handler: errors become a message (and a log line), never an exception in the host. */
function guarded<A extends unknown[]>(session: Session, title: string, fn: (...args: A) => Promise<unknown> | unknown) {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      const message = (err as Error)?.message ?? String(err);
      session.output.error(`${title}: ${message}`);
      void vscode.window.showErrorMessage(`Raft Lab: ${title} failed: ${message}`);
    }
  };
}

function settings() {
  const c = vscode.workspace.getConfiguration('raftlab');
  return {
    nodes: clampInt(c.get<number>('nodes', 3), 1, 7, 3),
    timing: c.get<string>('timing', 'etcd') === 'fast' ? ('fast' as const) : ('etcd' as const),
    clientPortBase: clampInt(c.get<number>('clientPortBase', 2379), 1, 65535 - 7, 2379),
    controlPort: clampInt(c.get<number>('controlPort', 2378), 0, 65535, 2378),
    dataLocation: c.get<string>('dataLocation', 'workspaceStorage') === 'memory' ? ('memory' as const) : ('workspaceStorage' as const),
    quotaBackendBytes: clampInt(c.get<number>('quotaBackendBytes', 0), -1, Number.MAX_SAFE_INTEGER, 0),
  };
}

function clampInt(v: unknown, min: number, max: number, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : fallback;
}

export function dataDir(context: vscode.ExtensionContext): string {
  return join((context.storageUri ?? context.globalStorageUri).fsPath, 'cluster');
}

export async function startLocal(cc: CommandContext): Promise<void> {
  const { session, context } = cc;
  const s = settings();
  const dir = s.dataLocation === 'memory' ? undefined : dataDir(context);
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Raft Lab: starting ${s.nodes} nodes…` }, async (progress) => {
    try {
      await session.startLocal({
        nodes: s.nodes,
        timing: s.timing,
        clientPortBase: s.clientPortBase,
        controlPort: s.controlPort,
        quotaBackendBytes: s.quotaBackendBytes,
        ...(dir ? { dataDir: dir } : {}),
        dashboardDir: join(context.extensionPath, 'dist', 'dashboard'),
      });
    } catch (err) {
      if ((err as Error).name === 'PortInUseError') {
        void vscode.window.showErrorMessage(`Raft Lab: ${(err as Error).message}`, 'Open Settings').then((c) => c && vscode.commands.executeCommand('workbench.action.openSettings', 'raftlab.clientPortBase'));
        return;
      }
      throw err;
    }
    progress.report({ message: 'electing a leader…' });
    await session.manager().waitForLeader(15_000).catch(() => undefined);
  });
  if (session.mode !== 'local') return;
  const endpoints = session.endpoints().join(',');
  void vscode.window.showInformationMessage(`Raft Lab: cluster started — ETCDCTL_ENDPOINTS=${endpoints}`, 'Copy Endpoints', 'Open Dashboard').then((c) => {
    if (c === 'Copy Endpoints') void vscode.env.clipboard.writeText(endpoints);
    if (c === 'Open Dashboard') cc.openDashboard();
  });
}

/** `nothing` says, as information rather than a failure, why there is no node to pick (say, none is paused). */
async function pickPeer(session: Session, title: string, arg: unknown, accept: (p: PeerView) => boolean = () => true, nothing?: string): Promise<PeerView | undefined> {
  const fromTree = arg as ClusterNode | undefined;
  if (fromTree && typeof fromTree === 'object' && fromTree.kind === 'peer') return fromTree.peer;
  const status = session.manager().status();
  const peers = status.peers.filter((p) => p.state !== 'removed' && accept(p));
  if (peers.length === 0 && nothing) {
    void vscode.window.showInformationMessage(`Raft Lab: ${nothing}`);
    return undefined;
  }
  if (peers.length === 0) throw new Error(`no node can be picked for ${title}`);
  const pick = await vscode.window.showQuickPick(
    peers.map((p) => ({
      label: p.name,
      description: `${p.state === 'up' || p.state === 'paused' ? `${roleText(p.role)} · ` : ''}term ${p.term} · ${p.state}${p.cutOff ? ' · isolated' : ''}`,
      detail: `127.0.0.1:${p.clientPort}`,
      peer: p,
    })),
    { title, placeHolder: 'Pick a node' },
  );
  return pick?.peer;
}

/** The key a command acts on: the tree node or editor it was invoked from, else the active raftlab: editor. */
function keyFromNode(arg: unknown, orActiveEditor = false): Uint8Array | undefined {
  const node = arg as TreeNode | vscode.Uri | undefined;
  if (node instanceof vscode.Uri) return node.scheme === SCHEME ? keyOfUri(node).key : undefined;
  if (node && typeof node === 'object' && 'kind' in node && node.kind === 'key') return node.kv.key;
  const active = vscode.window.activeTextEditor?.document.uri;
  if (orActiveEditor && arg === undefined && active?.scheme === SCHEME) return keyOfUri(active).key;
  return undefined;
}

async function askKey(title: string, prompt: string, value?: string): Promise<Uint8Array | undefined> {
  const input = await vscode.window.showInputBox({
    title,
    prompt: `${prompt} (bytes that are not text: \\xNN)`,
    value: value ?? '',
    placeHolder: '/app/config',
    ignoreFocusOut: true,
    validateInput: (v) => (v.length === 0 ? 'A key cannot be empty' : Buffer.byteLength(v) > MAX_INPUT_BYTES ? 'That key is too long' : undefined),
  });
  if (input === undefined || input.length === 0) return undefined;
  return parseKeyInput(input);
}

async function askValue(title: string, key: Uint8Array): Promise<Uint8Array | undefined> {
  const input = await vscode.window.showInputBox({
    title,
    prompt: `Value for ${displayBytes(key)}`,
    ignoreFocusOut: true,
    validateInput: (v) => (Buffer.byteLength(v) > MAX_INPUT_BYTES ? 'Over 1 MiB: open the key as a file instead' : undefined),
  });
  return input === undefined ? undefined : new TextEncoder().encode(input);
}

function files(session: Session) {
  if (!session.files || !session.source) throw new Error('no cluster is running; start the local cluster or connect to etcd');
  return { files: session.files, source: session.source };
}

export async function openKey(session: Session, key: Uint8Array, preview = true): Promise<void> {
  const uri = keyUri(session, key);
  const doc = await vscode.workspace.openTextDocument(uri);
  await vscode.window.showTextDocument(doc, { preview });
}

export function registerCommands(cc: CommandContext): vscode.Disposable[] {
  const { session } = cc;
  const reg = <A extends unknown[]>(id: string, title: string, fn: (...args: A) => Promise<unknown> | unknown) =>
    vscode.commands.registerCommand(id, guarded<A>(session, title, fn));
  const info = (m: string) => void vscode.window.showInformationMessage(`Raft Lab: ${m}`);

  return [
    reg('raftlab.start', 'Start Local Cluster', async () => {
      if (session.mode === 'local') return info('the local cluster is already running');
      if (session.mode === 'external') {
        const c = await vscode.window.showWarningMessage('Raft Lab: disconnect from the external etcd and start the local cluster?', { modal: true }, 'Disconnect and Start');
        if (c !== 'Disconnect and Start') return;
        await session.stop();
      }
      await startLocal(cc);
    }),
    reg('raftlab.stop', 'Stop Cluster', async () => {
      if (!session.running) return info('no cluster is running');
      const wasLocal = session.mode === 'local';
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Raft Lab: stopping…' }, () => session.stop());
      info(wasLocal ? 'cluster stopped' : 'disconnected');
    }),
    reg('raftlab.reset', 'Reset Cluster Data', async () => {
      if (session.mode === 'external') throw new Error('reset is for the local cluster');
      const memory = settings().dataLocation === 'memory';
      const dir = dataDir(cc.context);
      const c = await vscode.window.showWarningMessage(
        memory ? 'Raft Lab: restart the in-memory cluster with no keys?' : `Raft Lab: delete every key and the Raft log of the local cluster (${dir}) and start a fresh one?`,
        { modal: true },
        'Reset',
      );
      if (c !== 'Reset') return;
      const wasRunning = session.mode === 'local';
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Raft Lab: resetting cluster data…' }, async () => {
        await session.stop();
        if (!memory) await rm(dir, { recursive: true, force: true });
      });
      if (wasRunning) await startLocal(cc);
      else info('cluster data deleted');
    }),

    // ---------------------------------------------------------------- peers and faults
    reg('raftlab.killNode', 'Kill Node', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Kill Node', arg, (x) => x.state === 'up' || x.state === 'paused');
      if (!p) return;
      await session.manager().kill(p.id);
      info(`${p.name} killed`);
    }),
    reg('raftlab.killLeader', 'Kill Leader', async () => {
      const m = session.manager();
      const lead = m.leaderId();
      if (!lead) throw new Error('there is no leader right now (no quorum?)');
      const name = m.status().peers.find((p) => p.id === lead)?.name ?? `n${lead}`;
      await m.kill(lead);
      info(`killed the leader ${name}; waiting for a new one…`);
      const next = await m.waitForLeader(15_000, lead).catch(() => 0);
      const nextName = m.status().peers.find((p) => p.id === next)?.name;
      info(next ? `${nextName} is the new leader (term ${m.status().term})` : 'no new leader yet: does the cluster still have a quorum?');
    }),
    reg('raftlab.restartNode', 'Restart Node', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Restart Node', arg);
      if (!p) return;
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Raft Lab: restarting ${p.name}…` }, () => session.manager().restart(p.id));
      info(`${p.name} restarted`);
    }),
    reg('raftlab.pauseNode', 'Pause Node', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Pause Node', arg, (x) => x.state === 'up');
      if (!p) return;
      session.manager().pause(p.id);
      info(`${p.name} paused (its process is frozen; it sends and answers nothing)`);
    }),
    reg('raftlab.resumeNode', 'Resume Node', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Resume Node', arg, (x) => x.state === 'paused', 'no node is paused');
      if (!p) return;
      session.manager().resume(p.id);
      info(`${p.name} resumed`);
    }),
    reg('raftlab.isolateNode', 'Isolate Node', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Isolate Node', arg, (x) => x.state !== 'down');
      if (!p) return;
      session.manager().isolate(p.id);
      info(`${p.name} isolated from every other peer (Heal Network undoes it)`);
    }),
    reg('raftlab.transferLeadership', 'Transfer Leadership', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Transfer Leadership to…', arg, (x) => x.state === 'up' && x.role !== 'leader' && !x.isLearner);
      if (!p) return;
      await session.manager().transferLeader(p.id);
      info(`asked the leader to hand over to ${p.name}`);
    }),
    reg('raftlab.transferLeadershipHere', 'Transfer Leadership', (arg?: unknown) => vscode.commands.executeCommand('raftlab.transferLeadership', arg)),
    reg('raftlab.partition', 'Partition Network', async () => {
      const m = session.manager();
      const peers = m.status().peers.filter((p) => p.state !== 'removed');
      const picks = await vscode.window.showQuickPick(
        peers.map((p) => ({ label: p.name, description: `${roleText(p.role)} · ${p.state}`, peer: p })),
        { title: 'Partition Network: pick the nodes on one side (the rest form the other)', canPickMany: true },
      );
      if (!picks || picks.length === 0) return;
      if (picks.length === peers.length) throw new Error('leave at least one node on the other side');
      const mode = await vscode.window.showQuickPick(
        [
          { label: 'Both ways', oneWay: false, description: 'no messages cross' },
          { label: 'One way', oneWay: true, description: 'the picked side cannot send to the rest; the rest can still send to it' },
        ],
        { title: 'Partition Network: direction' },
      );
      if (!mode) return;
      m.partition(picks.map((p) => p.peer.id), mode.oneWay);
      info(`partitioned ${picks.map((p) => p.label).join(', ')} ${mode.oneWay ? '-/->' : '|'} the rest`);
    }),
    reg('raftlab.heal', 'Heal Network', () => {
      session.manager().heal();
      info('network healed: every link is back');
    }),
    reg('raftlab.fillDisk', 'Fill the Disk', async () => {
      const [raised] = await session.alarm('raise');
      info(`NOSPACE alarm raised${raised ? ` (${raised.member})` : ''}: writes fail with "database space exceeded" until "Raft Lab: Disarm Alarms"`);
    }),
    reg('raftlab.disarmAlarms', 'Disarm Alarms', async () => {
      const cleared = await session.alarm('disarm');
      info(cleared.length > 0 ? `disarmed ${cleared.map((a) => `${a.alarm} (${a.member})`).join(', ')}: writes are taken again` : 'no alarm was raised');
    }),
    reg('raftlab.addNode', 'Add Node', async () => {
      const m = session.manager();
      const kind = await vscode.window.showQuickPick(
        [
          { label: 'Voter', detail: 'Joins as a learner, catches up, then votes and counts toward quorum', learner: false },
          { label: 'Learner', detail: 'Receives every entry but does not vote or count toward quorum, until you promote it', learner: true },
        ],
        { title: 'Add Node', placeHolder: 'Add the new node as' },
      );
      if (!kind) return;
      const title = kind.learner ? 'Raft Lab: adding a learner…' : 'Raft Lab: adding a node (learner, catching up, then voter)…';
      const id = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
        m.addPeer({ learner: kind.learner }).catch((err: unknown) => {
          throw explainMembershipRefusal(err, 'add', m.status());
        }),
      );
      info(`n${id} joined the cluster${kind.learner ? ' as a learner' : ''} on 127.0.0.1:${m.clientPort(id)}`);
    }),
    reg('raftlab.promoteNode', 'Promote Learner', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Promote Learner', arg, (peer) => peer.isLearner, 'no node is a learner (Add Node as a learner makes one)');
      if (!p) return;
      await session.manager().promotePeer(p.id);
      info(`${p.name} is now a voter`);
    }),
    reg('raftlab.removeNode', 'Remove Node', async (arg?: unknown) => {
      const p = await pickPeer(session, 'Remove Node', arg);
      if (!p) return;
      const c = await vscode.window.showWarningMessage(`Raft Lab: remove ${p.name} from the cluster? Its data folder is deleted.`, { modal: true }, 'Remove');
      if (c !== 'Remove') return;
      const m = session.manager();
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Raft Lab: removing ${p.name}…` }, () =>
        m.removePeer(p.id).catch((err: unknown) => {
          throw explainMembershipRefusal(err, 'remove', m.status(), p);
        }),
      );
      info(`${p.name} removed`);
    }),
    reg('raftlab.openDashboard', 'Open Dashboard', () => cc.openDashboard()),

    // ---------------------------------------------------------------- endpoints and terminals
    reg('raftlab.copyEndpoints', 'Copy Endpoints', async () => {
      const endpoints = session.endpoints();
      if (endpoints.length === 0) throw new Error('no cluster is running');
      await vscode.env.clipboard.writeText(endpoints.join(','));
      info(`copied ${endpoints.join(',')}`);
    }),
    reg('raftlab.openTerminal', 'Open etcdctl Terminal', () => {
      const endpoints = session.endpoints();
      if (endpoints.length === 0) throw new Error('no cluster is running');
      const terminal = vscode.window.createTerminal({ name: 'etcdctl', env: { ETCDCTL_API: '3', ETCDCTL_ENDPOINTS: endpoints.join(',') } });
      terminal.show();
      terminal.sendText('etcdctl endpoint status -w table');
    }),

    // ---------------------------------------------------------------- external etcd
    reg('raftlab.connect', 'Connect to etcd', () => connectExternal(cc)),
    reg('raftlab.disconnect', 'Disconnect', async () => {
      if (session.mode !== 'external') return info('not connected to an external etcd');
      await session.stop();
      info('disconnected');
    }),

    // ---------------------------------------------------------------- keys
    reg('raftlab.putKey', 'Put Key', async (arg?: unknown) => {
      const { source } = files(session);
      const key = keyFromNode(arg) ?? (await askKey('Put Key', 'Key to write'));
      if (!key) return;
      const value = await askValue('Put Key', key);
      if (value === undefined) return;
      // Without a leader a write waits for one (up to etcd's request timeout): show that something is pending.
      const res = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Raft Lab: writing ${displayBytes(key)}…` }, () => source.put(key, value));
      info(`put ${displayBytes(key)} at revision ${res.revision}`);
    }),
    reg('raftlab.getKey', 'Get Key', async () => {
      const { files: f } = files(session);
      const key = await askKey('Get Key', 'Key to read');
      if (!key) return;
      const kv = await f.get(key);
      if (!kv) return info(`${displayBytes(key)} does not exist`);
      const c = await vscode.window.showInformationMessage(
        `Raft Lab: ${displayBytes(key)} = ${previewValue(kv.value, 300)} (mod revision ${kv.modRevision}, version ${kv.version})`,
        'Open',
        'Copy Value',
      );
      if (c === 'Open') await openKey(session, key);
      if (c === 'Copy Value') await copyValue(kv.value);
    }),
    reg('raftlab.keys.newKey', 'New Key', async (arg?: unknown) => {
      const { files: f, source } = files(session);
      const folder = arg as FolderNode | undefined;
      const start = folder && typeof folder === 'object' && folder.kind === 'folder' ? displayBytes(folder.prefix) : cc.keys.currentFilter;
      const key = await askKey('New Key', 'Key to create', start);
      if (!key) return;
      if (await f.get(key)) {
        const c = await vscode.window.showWarningMessage(`Raft Lab: ${displayBytes(key)} already exists.`, 'Open It');
        if (c === 'Open It') await openKey(session, key, false);
        return;
      }
      const value = await askValue('New Key', key);
      if (value === undefined) return;
      await source.put(key, value);
      await openKey(session, key, false);
    }),
    reg('raftlab.keys.open', 'Open Value', async (arg?: unknown) => {
      const { files: f, source } = files(session);
      const key = keyFromNode(arg) ?? (await askKey('Open Value', 'Key to open'));
      if (!key) return;
      if (!(await f.get(key))) {
        const c = await vscode.window.showInformationMessage(`Raft Lab: ${displayBytes(key)} does not exist.`, 'Create It');
        if (c !== 'Create It') return;
        const value = await askValue('New Key', key);
        if (value === undefined) return;
        await source.put(key, value);
      }
      await openKey(session, key);
    }),
    reg('raftlab.deleteKey', 'Delete Key', async (arg?: unknown) => {
      const { files: f } = files(session);
      const key = keyFromNode(arg) ?? (await askKey('Delete Key', 'Key to delete'));
      if (!key) return;
      const c = await vscode.window.showWarningMessage(`Raft Lab: delete ${displayBytes(key)}?`, { modal: true }, 'Delete');
      if (c !== 'Delete') return;
      const n = await f.delete(key);
      info(n > 0 ? `deleted ${displayBytes(key)}` : `${displayBytes(key)} did not exist`);
    }),
    reg('raftlab.keys.deletePrefix', 'Delete Prefix', async (arg?: unknown) => {
      const { source } = files(session);
      const folder = arg as FolderNode | undefined;
      let prefix = folder && typeof folder === 'object' && folder.kind === 'folder' ? folder.prefix : undefined;
      if (!prefix) prefix = await askKey('Delete Prefix', 'Delete every key starting with', cc.keys.currentFilter);
      if (!prefix) return;
      const end = prefixEnd(prefix);
      const { count } = await source.range({ key: prefix, rangeEnd: end, countOnly: true });
      if (count === 0) return info(`no keys start with ${displayBytes(prefix)}`);
      const c = await vscode.window.showWarningMessage(`Raft Lab: delete ${count} key${count === 1 ? '' : 's'} starting with ${displayBytes(prefix)}?`, { modal: true }, `Delete ${count}`);
      if (!c) return;
      const res = await source.deleteRange(prefix, end);
      info(`deleted ${res.deleted} key${res.deleted === 1 ? '' : 's'} under ${displayBytes(prefix)}`);
    }),
    reg('raftlab.keys.copyKey', 'Copy Key', async (arg?: unknown) => {
      const node = arg as FolderNode | KeyNode | undefined;
      const bytes = node?.kind === 'folder' ? node.prefix : keyFromNode(arg);
      if (!bytes) return;
      await vscode.env.clipboard.writeText(asUtf8(bytes) ?? displayBytes(bytes));
    }),
    reg('raftlab.keys.copyValue', 'Copy Value', async (arg?: unknown) => {
      const { files: f } = files(session);
      const key = keyFromNode(arg, true) ?? (await askKey('Copy Value', 'Key'));
      if (!key) return;
      const kv = await f.get(key);
      if (!kv) throw new Error(`${displayBytes(key)} does not exist`);
      await copyValue(kv.value);
    }),
    reg('raftlab.keys.history', 'Show History', async (arg?: unknown) => {
      const { files: f } = files(session);
      const key = keyFromNode(arg, true) ?? (await askKey('Show History', 'Key'));
      if (!key) return;
      const h = await f.history(key);
      if (h.entries.length === 0) throw new Error(`${displayBytes(key)} does not exist`);
      if (h.entries.length === 1) return info(`${displayBytes(key)} has one version${h.compacted ? ' since the compaction point' : ''}`);
      const items = h.entries.slice(1).map((e, i) => ({
        label: `version ${e.kv.version}`,
        description: `mod revision ${e.kv.modRevision}`,
        detail: previewValue(e.kv.value, 120),
        older: e.kv,
        newer: h.entries[i]!.kv,
      }));
      const note = h.compacted ? ' (older versions were compacted)' : h.truncated ? ' (the newest 100)' : '';
      const pick = await vscode.window.showQuickPick(items, { title: `History of ${displayBytes(key)}${note}`, placeHolder: 'Pick a version to compare with the one after it' });
      if (!pick) return;
      const newest = pick.newer.modRevision === h.entries[0]!.kv.modRevision;
      const left = keyUri(session, key, pick.older.modRevision);
      const right = newest ? keyUri(session, key) : keyUri(session, key, pick.newer.modRevision);
      await vscode.commands.executeCommand('vscode.diff', left, right, `${displayBytes(key)}: rev ${pick.older.modRevision} ↔ ${newest ? 'now' : `rev ${pick.newer.modRevision}`}`);
    }),
    reg('raftlab.keys.filter', 'Filter Keys', async () => {
      const v = await vscode.window.showInputBox({ title: 'Filter Keys by Prefix', prompt: 'Show only keys starting with (empty: all keys)', value: cc.keys.currentFilter, placeHolder: '/app/' });
      if (v !== undefined) cc.keys.setFilter(v);
    }),
    reg('raftlab.keys.clearFilter', 'Clear Filter', () => cc.keys.setFilter('')),
    reg('raftlab.keys.refresh', 'Refresh Keys', () => cc.keys.refresh()),
    reg('raftlab.keys.loadMore', 'Load More', (node?: MoreNode) => cc.keys.loadMore(node)),
  ];
}

async function copyValue(value: Uint8Array): Promise<void> {
  if (isBinaryValue(value)) {
    await vscode.env.clipboard.writeText(toHex(value));
    void vscode.window.showInformationMessage(`Raft Lab: the value is binary; copied it as hex (${value.length} bytes)`);
  } else {
    await vscode.env.clipboard.writeText(asUtf8(value) ?? '');
  }
}

interface SavedConnection {
  endpoints: string;
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
}

async function connectExternal(cc: CommandContext): Promise<void> {
  const { session, context } = cc;
  if (session.mode === 'local') {
    const c = await vscode.window.showWarningMessage('Raft Lab: connect to an external etcd? The local cluster stops once the connection works (it keeps running if connecting fails).', { modal: true }, 'Stop and Connect');
    if (c !== 'Stop and Connect') return;
  }
  const saved = context.globalState.get<SavedConnection>('raftlab.lastConnection');
  const endpointsInput = await vscode.window.showInputBox({
    title: 'Connect to etcd (1/3): endpoints',
    prompt: 'Endpoints, comma separated: host:port or https://host:port',
    value: saved?.endpoints ?? '127.0.0.1:2379',
    ignoreFocusOut: true,
    validateInput: (v) => {
      try {
        parseEndpoints(v);
        return undefined;
      } catch (err) {
        return (err as Error).message;
      }
    },
  });
  if (!endpointsInput) return;
  const endpoints = parseEndpoints(endpointsInput);

  const tlsChoice = await vscode.window.showQuickPick(
    [
      { label: 'No TLS', id: 'none' },
      { label: 'TLS…', description: 'pick a CA certificate, and a client certificate and key if the cluster asks for them', id: 'tls' },
      ...(saved?.ca || saved?.cert ? [{ label: 'TLS as last time', description: [saved.ca, saved.cert].filter(Boolean).join(', '), id: 'saved' }] : []),
    ],
    { title: 'Connect to etcd (2/3): TLS', ignoreFocusOut: true },
  );
  if (!tlsChoice) return;
  const conn: SavedConnection = { endpoints: endpointsInput };
  if (tlsChoice.id === 'saved') Object.assign(conn, { ca: saved?.ca, cert: saved?.cert, key: saved?.key });
  if (tlsChoice.id === 'tls') {
    const pickFile = async (what: string) => (await vscode.window.showOpenDialog({ title: what, canSelectMany: false, openLabel: 'Use' }))?.[0]?.fsPath;
    conn.ca = await pickFile('CA certificate (PEM) — cancel to use the system roots');
    conn.cert = await pickFile('Client certificate (PEM) — cancel for none');
    if (conn.cert) conn.key = await pickFile('Client key (PEM)');
  }
  if (endpoints.some((e) => e.startsWith('https:')) && !conn.ca && !conn.cert) conn.ca = undefined;

  const authChoice = await vscode.window.showQuickPick(
    [
      { label: 'No authentication', id: 'none' },
      { label: 'User and password…', description: 'the password is kept in VS Code’s secret storage', id: 'user' },
      ...(saved?.username ? [{ label: `As ${saved.username}`, description: 'the saved password', id: 'saved' }] : []),
    ],
    { title: 'Connect to etcd (3/3): authentication', ignoreFocusOut: true },
  );
  if (!authChoice) return;
  let auth: { username: string; password: string } | undefined;
  const secretKey = (user: string) => `raftlab.etcd.password:${endpointsInput}:${user}`;
  if (authChoice.id === 'saved' && saved?.username) {
    const password = await context.secrets.get(secretKey(saved.username));
    if (password === undefined) throw new Error('no saved password; pick "User and password…"');
    auth = { username: saved.username, password };
    conn.username = saved.username;
  } else if (authChoice.id === 'user') {
    const username = await vscode.window.showInputBox({ title: 'etcd user', ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : 'A user name is needed') });
    if (!username) return;
    const password = await vscode.window.showInputBox({ title: `Password for ${username}`, password: true, ignoreFocusOut: true });
    if (password === undefined) return;
    auth = { username, password };
    conn.username = username;
    await context.secrets.store(secretKey(username), password);
  }

  const read = async (path?: string) => (path ? new Uint8Array(await vscode.workspace.fs.readFile(vscode.Uri.file(path))) : undefined);
  const [ca, cert, key] = await Promise.all([read(conn.ca), read(conn.cert), read(conn.key)]);
  const tls = ca || cert ? { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) } : undefined;
  // Only now, with every answer given (Escape on any prompt keeps what runs), and only once the connection works,
  // does the current cluster go.
  await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Raft Lab: connecting to ${endpoints.join(', ')}…` }, () =>
    session.connectExternal({ endpoints, ...(tls ? { tls } : {}), ...(auth ? { auth } : {}) }, true),
  );
  await context.globalState.update('raftlab.lastConnection', conn);
  void vscode.window.showInformationMessage(`Raft Lab: connected to etcd at ${session.endpoints().join(',')}`);
}
