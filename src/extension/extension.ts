// The extension's entry: registers the views, commands, the value file system, the status bar and the
// dashboard serializer, and nothing heavy. The cluster runtime (manager, workers, etcd3) loads only when a
// cluster starts or a connection opens (session.ts → dist/extension-runtime.js).
import * as vscode from 'vscode';
import { SCHEME } from '../keys/key-uri.ts';
import { ClusterViewProvider } from './cluster-view.ts';
import { registerCommands, startLocal, type CommandContext } from './commands.ts';
import { DashboardPanel, registerDashboardSerializer } from './dashboard-panel.ts';
import { KeysViewProvider } from './keys-view.ts';
import { Session } from './session.ts';
import { statusBarText, stoppedText } from './status-text.ts';
import { ValueFileSystem, pickLanguage } from './value-fs.ts';

let session: Session | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const started = performance.now();
  const output = vscode.window.createOutputChannel('Raft Lab', { log: true });
  session = new Session(output);
  const s = session;
  void vscode.commands.executeCommand('setContext', 'raftlab.mode', 'none');

  const clusterView = new ClusterViewProvider(s);
  const keys = new KeysViewProvider(s);
  const keysTree = vscode.window.createTreeView('raftlab.keys', { treeDataProvider: keys, showCollapseAll: true });
  keys.view = keysTree;
  const fs = new ValueFileSystem(s);

  const openDashboard = () => {
    if (s.mode === 'external') {
      void vscode.window.showInformationMessage('Raft Lab: the dashboard shows the local cluster; an external etcd is browsed in the Cluster and Keys views.');
      return;
    }
    DashboardPanel.createOrShow(context, s.dashboardHost());
  };
  const cc: CommandContext = { context, session: s, keys, openDashboard };

  const statusItem = vscode.window.createStatusBarItem('raftlab.status', vscode.StatusBarAlignment.Left, 50);
  statusItem.name = 'Raft Lab';
  statusItem.command = 'raftlab.openDashboard';
  const renderStatus = () => {
    let view;
    if (s.mode === 'local') view = s.status() ? statusBarText(s.status()!) : stoppedText(undefined);
    else if (s.mode === 'external') view = { text: `Raft Lab: etcd ${s.endpoints().join(',')}`, tooltip: 'Connected to an external etcd', tone: 'normal' as const };
    else if (s.mode === 'starting') view = { text: '$(sync~spin) Raft Lab: starting…', tooltip: 'Starting', tone: 'normal' as const };
    else if (s.mode === 'stopping') view = { text: '$(sync~spin) Raft Lab: stopping…', tooltip: 'Stopping', tone: 'normal' as const };
    else view = stoppedText(s.lastError);
    statusItem.text = view.text;
    statusItem.tooltip = view.tooltip;
    statusItem.backgroundColor =
      view.tone === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : view.tone === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    statusItem.show();
  };
  let statusTimer: ReturnType<typeof setTimeout> | undefined;
  const renderSoon = () => {
    statusTimer ??= setTimeout(() => {
      statusTimer = undefined;
      renderStatus();
    }, 200);
  };
  renderStatus();

  // Terminals opened while a cluster runs get ETCDCTL_API and ETCDCTL_ENDPOINTS.
  const env = context.environmentVariableCollection;
  env.persistent = false;
  env.description = 'Raft Lab: ETCDCTL_API and ETCDCTL_ENDPOINTS for the running cluster';
  const updateEnv = () => {
    const endpoints = s.endpoints();
    if (s.running && endpoints.length > 0) {
      env.replace('ETCDCTL_API', '3');
      env.replace('ETCDCTL_ENDPOINTS', endpoints.join(','));
    } else {
      env.clear();
    }
  };

  context.subscriptions.push(
    s,
    output,
    statusItem,
    clusterView,
    keys,
    keysTree,
    fs,
    vscode.window.registerTreeDataProvider('raftlab.cluster', clusterView),
    vscode.workspace.registerFileSystemProvider(SCHEME, fs, { isCaseSensitive: true }),
    vscode.workspace.onDidOpenTextDocument(pickLanguage),
    vscode.workspace.onDidSaveTextDocument(pickLanguage),
    s.onDidChange(() => {
      renderStatus();
      updateEnv();
      DashboardPanel.current?.setHost(s.dashboardHost());
    }),
    s.onDidChangeStatus(renderSoon),
    ...registerCommands(cc),
  );
  registerDashboardSerializer(context, () => s.dashboardHost());

  output.info(`activated in ${(performance.now() - started).toFixed(1)} ms`);
  if (vscode.workspace.getConfiguration('raftlab').get<boolean>('autoStart', false)) {
    void startLocal(cc).catch((err: Error) => {
      output.error(`auto start: ${err.message}`);
      void vscode.window.showErrorMessage(`Raft Lab: could not start the local cluster: ${err.message}`);
    });
  }
}

/** Window reload or exit: stop the peers cleanly so their LevelDB folders close. */
export async function deactivate(): Promise<void> {
  const s = session;
  session = undefined;
  await s?.stop().catch(() => undefined);
}
