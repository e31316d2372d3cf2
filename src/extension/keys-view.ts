// The Keys view: renders keys/key-tree.ts. Folders load their children when expanded, a page at a time;
// watch events are gathered for a moment and only the folders they touch reload.
import * as vscode from 'vscode';
import { displayBytes, parseKeyInput, toBytes } from '../keys/bytes.ts';
import { KeyTreeModel, describeKey, type FolderNode, type MoreNode, type TreeNode } from '../keys/key-tree.ts';
import type { WatchEvent } from '../keys/kv-source.ts';
import type { Session } from './session.ts';
import { keyUri } from './value-fs.ts';

const DEBOUNCE_MS = 150;

export class KeysViewProvider implements vscode.TreeDataProvider<TreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<TreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private model: KeyTreeModel | undefined;
  private filter = '';
  private pendingEvents: WatchEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly subs: vscode.Disposable[];
  view: vscode.TreeView<TreeNode> | undefined;

  constructor(private readonly session: Session) {
    this.subs = [
      session.onDidChange(() => this.rebuild()),
      session.onDidChangeKeys((events) => this.queue(events)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('raftlab.keySeparator') || e.affectsConfiguration('raftlab.pageSize')) this.rebuild();
      }),
    ];
  }

  get currentFilter(): string {
    return this.filter;
  }

  setFilter(prefix: string): void {
    this.filter = prefix;
    void vscode.commands.executeCommand('setContext', 'raftlab.keysFiltered', prefix.length > 0);
    if (this.view) this.view.description = prefix ? `prefix ${displayBytes(toBytes(prefix))}` : undefined;
    this.rebuild();
  }

  /** A new model (new connection, settings or filter): everything reloads. */
  rebuild(): void {
    const source = this.session.source;
    if (source && this.session.running) {
      const config = vscode.workspace.getConfiguration('raftlab');
      const separator = config.get<string>('keySeparator', '/');
      this.model = new KeyTreeModel(source, { separator, pageSize: config.get<number>('pageSize', 100), root: parseKeyInput(this.filter) });
    } else {
      this.model = undefined;
    }
    if (this.view) this.view.message = undefined;
    this.changed.fire(undefined);
  }

  refresh(): void {
    this.model?.reset();
    this.changed.fire(undefined);
  }

  /** Loads the next page of the folder whose "Load more…" row was clicked (the selected row, see getTreeItem). */
  async loadMore(node?: MoreNode): Promise<void> {
    let more = node ?? this.selectedMore();
    // While the folder's rows are being replaced by a live refresh, VS Code cannot name the selected row yet.
    for (let i = 0; !more && i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      more = this.selectedMore();
    }
    if (!this.model || !more) return;
    await this.model.loadMore(more);
    this.changed.fire(more.parent);
  }

  private selectedMore(): MoreNode | undefined {
    return this.view?.selection.find((n): n is MoreNode => n.kind === 'more');
  }

  /** A failed load (no leader yet, a peer just killed) is tried again shortly while a cluster is connected. */
  private retrySoon(): void {
    if (this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.model) return;
      this.model.reset();
      this.changed.fire(undefined);
    }, 1000);
  }

  private queue(events: WatchEvent[]): void {
    this.pendingEvents.push(...events);
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const batch = this.pendingEvents;
      this.pendingEvents = [];
      const model = this.model;
      if (!model) return;
      if (!model.isLoaded(model.root)) {
        // nothing shown yet (or the first load failed): show everything
        this.changed.fire(undefined);
        return;
      }
      for (const prefix of model.applyEvents(batch)) {
        const folder = prefix.length === model.root.length ? undefined : model.folder(prefix);
        if (prefix.length !== model.root.length && !folder) continue;
        this.changed.fire(folder);
      }
    }, DEBOUNCE_MS);
  }

  async getChildren(element?: TreeNode): Promise<TreeNode[]> {
    const model = this.model;
    if (!model) return [];
    if (element && element.kind !== 'folder') return [];
    try {
      const nodes = await model.children(element as FolderNode | undefined);
      if (!element && this.view) this.view.message = nodes.length === 0 ? (this.filter ? `No keys start with ${this.filter}.` : 'No keys yet. Add one with the + button.') : undefined;
      return nodes;
    } catch (err) {
      if (this.view) this.view.message = `Could not list keys: ${(err as Error).message} (retrying)`;
      this.retrySoon();
      return [];
    }
  }

  getParent(element: TreeNode): TreeNode | undefined {
    return element.parent;
  }

  getTreeItem(node: TreeNode): vscode.TreeItem {
    if (node.kind === 'more') {
      const item = new vscode.TreeItem('Load more…');
      item.id = `${node.id}:${node.loaded}`;
      item.iconPath = new vscode.ThemeIcon('ellipsis');
      item.description = `${node.loaded} shown`;
      // No arguments: VS Code keeps an extension command's arguments only until the row is rendered again, and a
      // busy folder re-renders often, so a click could find them gone ("Actual command not found"). A click
      // selects the row first, and loadMore takes the selected row.
      item.command = { command: 'raftlab.keys.loadMore', title: 'Load more' };
      item.contextValue = 'more';
      return item;
    }
    if (node.kind === 'folder') {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = node.id;
      item.iconPath = vscode.ThemeIcon.Folder;
      item.tooltip = `prefix ${displayBytes(node.prefix)}`;
      item.contextValue = 'prefix';
      return item;
    }
    const item = new vscode.TreeItem(node.label);
    item.id = node.id;
    const kv = node.kv;
    const leased = kv.lease !== '0';
    item.iconPath = new vscode.ThemeIcon(leased ? 'watch' : 'key');
    item.description = leased ? (node.ttl === undefined ? 'leased' : node.ttl < 0 ? 'lease expired' : `TTL ${node.ttl}s`) : `v${kv.version}`;
    item.tooltip = describeKey(kv, node.ttl).join('\n');
    item.contextValue = leased ? 'key-leased' : 'key';
    // vscode.open with a Uri, not our command with the node: VS Code keeps an extension command's arguments only
    // until the row is rendered again, so a click racing a live refresh found no command ("Actual command not
    // found"); a built-in command's Uri argument is sent with the row and cannot go stale.
    item.command = { command: 'vscode.open', title: 'Open Value', arguments: [keyUri(this.session, kv.key)] };
    return item;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const s of this.subs) s.dispose();
    this.changed.dispose();
  }
}
