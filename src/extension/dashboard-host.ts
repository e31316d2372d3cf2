// What the dashboard panel needs from the cluster, without `vscode`: a DashboardHost (status, its stream, and
// actions), an adapter over a ClusterManager, and the bridge that speaks the dashboard's message protocol
// (webview/protocol.ts) for a panel: a fresh snapshot on `ready`, status coalesced to at most ten a second,
// events as they happen, and one result per action. Plain tests drive it without VS Code.
import type { ClusterManager } from '../cluster/cluster-manager.ts';
import { kvAlarm, kvGet, kvPut } from '../cluster/kv-client.ts';
import type { ClusterEvent, ClusterStatus } from '../cluster/status.ts';
import { isViewMessage, MIN_STATUS_INTERVAL_MS, type DashboardAction, type HostMessage } from '../../webview/protocol.ts';

export type { DashboardAction };

export interface DashboardHost {
  status(): ClusterStatus;
  /** Subscribes; the returned function unsubscribes. */
  on(event: 'status', listener: (status: ClusterStatus) => void): () => void;
  on(event: 'event', listener: (event: ClusterEvent) => void): () => void;
  /** Runs an action; resolves with its value (see ActionValues), rejects with an Error carrying `code`. */
  perform(action: DashboardAction): Promise<unknown>;
}

/** Runs a dashboard action on a cluster manager: the same manager calls as the commands and the control API. */
export async function performAction(m: ClusterManager, a: DashboardAction): Promise<unknown> {
  switch (a.kind) {
    case 'kill':
      return m.kill(a.peer);
    case 'killLeader':
      return m.kill('leader');
    case 'restart':
      return m.restart(a.peer);
    case 'pause':
      return m.pause(a.peer);
    case 'resume':
      return m.resume(a.peer);
    case 'isolate':
      return m.isolate(a.peer);
    case 'transfer':
      return m.transferLeader(a.peer);
    case 'remove':
      return m.removePeer(a.peer);
    case 'promote':
      return m.promotePeer(a.peer);
    case 'cut':
      return m.cutLink(a.from, a.to, a.oneWay);
    case 'drop':
      return m.drop(a.from, a.to, a.percent);
    case 'delay':
      return m.delay(a.from, a.to, a.ms);
    case 'heal':
      return m.heal();
    case 'add': {
      const id = await m.addPeer();
      return { id, name: `n${id}` };
    }
    case 'put':
      return kvPut(m, a.key, a.value);
    case 'get':
      return kvGet(m, a.key);
    case 'alarm':
      return kvAlarm(m, a.action);
  }
}

/** A DashboardHost over a ClusterManager (what the extension passes to DashboardPanel.createOrShow). */
export function clusterManagerHost(manager: ClusterManager): DashboardHost {
  return {
    status: () => manager.status(),
    on(event: 'status' | 'event', listener: (value: any) => void) {
      manager.on(event, listener);
      return () => manager.off(event, listener);
    },
    perform: (action) => performAction(manager, action),
  } as DashboardHost;
}

/**
 * Speaks the dashboard protocol for one view. `post` delivers to the view; `receive` takes what the view sent.
 * Status pushes are coalesced (latest wins) to one per MIN_STATUS_INTERVAL_MS and held while the view is hidden;
 * the view asks for a fresh snapshot with `ready` whenever it (re)loads.
 */
export class DashboardBridge {
  private host: DashboardHost | undefined;
  private unsubscribe: (() => void)[] = [];
  private pending: ClusterStatus | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastSentAt = 0;
  private ready = false;
  private visible = true;
  private disposed = false;

  constructor(
    host: DashboardHost | undefined,
    private readonly post: (message: HostMessage) => void,
    private readonly minIntervalMs = MIN_STATUS_INTERVAL_MS,
  ) {
    this.setHost(host);
  }

  /** Points the view at another cluster (or none); the view gets a snapshot at once. */
  setHost(host: DashboardHost | undefined): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.host = host;
    this.pending = undefined;
    if (host) {
      this.unsubscribe.push(
        host.on('status', (s) => this.queueStatus(s)),
        host.on('event', (e) => this.ready && this.visible && this.send({ type: 'event', event: e })),
      );
    }
    if (this.ready) this.sendSnapshot();
  }

  /** A hidden webview drops messages; a shown one reloads and says `ready`. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    if (!visible) this.ready = false;
  }

  receive(message: unknown): void {
    if (this.disposed || !isViewMessage(message)) return;
    if (message.type === 'ready') {
      this.ready = true;
      this.visible = true;
      this.sendSnapshot();
      return;
    }
    const { id, action } = message;
    const host = this.host;
    if (!host) {
      this.send({ type: 'result', id, ok: false, error: { code: 'UNAVAILABLE', message: 'no cluster is running' } });
      return;
    }
    let running: Promise<unknown>;
    try {
      running = Promise.resolve(host.perform(action));
    } catch (err) {
      running = Promise.reject(err);
    }
    running.then(
      (value) => this.send({ type: 'result', id, ok: true, value: value ?? null }),
      (err: unknown) => {
        const e = err as { code?: unknown; message?: unknown };
        const code = typeof e?.code === 'string' ? e.code : 'UNKNOWN';
        this.send({ type: 'result', id, ok: false, error: { code, message: typeof e?.message === 'string' ? e.message : String(err) } });
      },
    );
  }

  dispose(): void {
    this.disposed = true;
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private sendSnapshot(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = undefined;
    this.lastSentAt = Date.now();
    this.send({ type: 'status', status: this.host ? this.host.status() : null });
  }

  private queueStatus(status: ClusterStatus): void {
    this.pending = status;
    if (this.timer || !this.ready || !this.visible) return;
    const wait = Math.max(0, this.lastSentAt + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const next = this.pending;
      this.pending = undefined;
      if (!next || !this.ready || !this.visible) return;
      this.lastSentAt = Date.now();
      this.send({ type: 'status', status: next });
    }, wait);
  }

  private send(message: HostMessage): void {
    if (!this.disposed) this.post(message);
  }
}
