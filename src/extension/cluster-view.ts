// The Cluster view: each peer with its role, term and state. Local peers carry context values that the fault
// menus key on (peer-<state>[-leader]); an external etcd's members show with no fault actions.
import * as vscode from 'vscode';
import type { PeerView } from '../cluster/status.ts';
import type { ExternalStatus } from './runtime.ts';
import type { Session } from './session.ts';
import { peerDescription } from './status-text.ts';

export type ClusterNode = { kind: 'peer'; peer: PeerView } | { kind: 'member'; member: ExternalStatus['members'][number]; term: number } | { kind: 'info'; label: string; detail?: string };

export class ClusterViewProvider implements vscode.TreeDataProvider<ClusterNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private external: ExternalStatus | undefined;
  private externalError: string | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;
  private pending: ReturnType<typeof setTimeout> | undefined;
  private readonly subs: vscode.Disposable[];

  constructor(private readonly session: Session) {
    this.subs = [
      session.onDidChange(() => this.onModeChange()),
      // The manager coalesces status to ten a second; four redraws a second is plenty for a tree.
      session.onDidChangeStatus(() => this.refreshSoon(250)),
    ];
  }

  private onModeChange(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    this.external = undefined;
    if (this.session.mode === 'external') {
      const load = async () => {
        try {
          this.external = await this.session.external?.status();
          this.externalError = undefined;
        } catch (err) {
          this.externalError = (err as Error).message;
        }
        this.changed.fire();
      };
      void load();
      this.poll = setInterval(() => void load(), 3000);
    }
    this.changed.fire();
  }

  private refreshSoon(ms: number): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.changed.fire();
    }, ms);
  }

  getChildren(element?: ClusterNode): ClusterNode[] {
    if (element) return [];
    if (this.session.mode === 'local') {
      const status = this.session.status();
      return status ? status.peers.filter((p) => p.state !== 'removed').map((peer) => ({ kind: 'peer', peer })) : [];
    }
    if (this.session.mode === 'external') {
      if (this.externalError) return [{ kind: 'info', label: 'etcd does not answer', detail: this.externalError }];
      if (!this.external) return [{ kind: 'info', label: 'loading…' }];
      return this.external.members.map((member) => ({ kind: 'member', member, term: this.external!.raftTerm }));
    }
    if (this.session.mode === 'starting') return [{ kind: 'info', label: 'starting…' }];
    if (this.session.mode === 'stopping') return [{ kind: 'info', label: 'stopping…' }];
    return []; // the welcome view shows
  }

  getTreeItem(node: ClusterNode): vscode.TreeItem {
    if (node.kind === 'info') {
      const item = new vscode.TreeItem(node.label);
      if (node.detail) item.tooltip = node.detail;
      item.iconPath = new vscode.ThemeIcon('info');
      return item;
    }
    if (node.kind === 'member') {
      const m = node.member;
      const item = new vscode.TreeItem(m.name);
      item.id = `member:${m.id}`;
      item.description = [m.isLeader ? 'leader' : m.isLearner ? 'learner' : 'member', `term ${node.term}`].join(' · ');
      item.tooltip = `${m.name} (id ${BigInt(m.id).toString(16)})\n${m.clientUrls.join(', ')}`;
      item.iconPath = new vscode.ThemeIcon(m.isLeader ? 'star-full' : 'circle-outline');
      item.contextValue = 'member';
      return item;
    }
    const p = node.peer;
    const item = new vscode.TreeItem(p.name);
    item.id = `peer:${p.id}`;
    item.description = peerDescription(p);
    item.iconPath = peerIcon(p);
    const leader = p.state === 'up' && p.role === 'leader';
    item.contextValue = `peer-${p.state}${leader ? '-leader' : ''}${p.isLearner && p.state !== 'removed' ? '-learner' : ''}`;
    const tip = new vscode.MarkdownString(undefined, true);
    tip.appendMarkdown(`**${p.name}** — ${peerDescription(p)}\n\n`);
    tip.appendMarkdown(
      [
        `endpoint \`127.0.0.1:${p.clientPort}\``,
        `commit ${p.commit} · applied ${p.applied} · log ${p.firstIndex}–${p.lastIndex}`,
        `revision ${p.revision} · ${p.keys} keys`,
        p.error ? `error: ${p.error}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.tooltip = tip;
    return item;
  }

  dispose(): void {
    if (this.poll) clearInterval(this.poll);
    if (this.pending) clearTimeout(this.pending);
    for (const s of this.subs) s.dispose();
    this.changed.dispose();
  }
}

function peerIcon(p: PeerView): vscode.ThemeIcon {
  if (p.state === 'down') return new vscode.ThemeIcon('debug-stop', new vscode.ThemeColor('errorForeground'));
  if (p.state === 'paused') return new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('editorWarning.foreground'));
  if (p.state === 'starting') return new vscode.ThemeIcon('loading~spin');
  if (p.cutOff) return new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('editorWarning.foreground'));
  if (p.role === 'leader') return new vscode.ThemeIcon('star-full', new vscode.ThemeColor('charts.yellow'));
  if (p.role === 'candidate' || p.role === 'preCandidate') return new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.orange'));
  if (p.role === 'learner') return new vscode.ThemeIcon('mortar-board');
  return new vscode.ThemeIcon('circle-filled', new vscode.ThemeColor('charts.green'));
}
