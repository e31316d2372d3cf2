// The control API: a WebSocket server on 127.0.0.1 speaking versioned JSON (control-protocol.ts), plus the
// dashboard page over plain HTTP on the same port. Browsers let any web page open a WebSocket to 127.0.0.1,
// so connections are accepted only from local tools (no Origin header) and from this server's own page.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ClusterManager } from '../cluster/cluster-manager.ts';
import { ClusterError } from '../cluster/cluster-error.ts';
import { kvAlarm, kvGet, kvPut } from '../cluster/kv-client.ts';
import type { ClusterEvent, ClusterStatus } from '../cluster/status.ts';
import { CONTROL_API_VERSION, CONTROL_OPS, type ControlEnvelope, type ControlPush, type ControlReply } from './control-protocol.ts';

export interface ControlServerOptions {
  port: number;
  /** Folder with the dashboard's index.html and bundles; the page is not served without it. */
  dashboardDir?: string;
}

const MAX_MESSAGE_BYTES = 1024 * 1024;

export class ControlServer {
  private readonly http: Server;
  private readonly wss: WebSocketServer;
  private readonly subscribers = new Set<WebSocket>();
  private readonly onStatus = (status: ClusterStatus) => this.push({ v: 1, type: 'status', status });
  private readonly onEvent = (event: ClusterEvent) => this.push({ v: 1, type: 'event', event });
  port = 0;

  private constructor(
    private readonly manager: ClusterManager,
    private readonly options: ControlServerOptions,
  ) {
    this.http = createServer((req, res) => void this.serveHttp(req, res));
    this.wss = new WebSocketServer({
      server: this.http,
      maxPayload: MAX_MESSAGE_BYTES,
      verifyClient: ({ origin }: { origin?: string }) => this.originAllowed(origin),
    });
    this.wss.on('connection', (ws) => this.onConnection(ws));
  }

  /** Listens on 127.0.0.1:port (0 picks a free port). A port in use is a clear error naming it. */
  static async start(manager: ClusterManager, options: ControlServerOptions): Promise<ControlServer> {
    const server = new ControlServer(manager, options);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'EADDRINUSE'
            ? new ClusterError(`control port ${options.port} on 127.0.0.1 is already in use; stop what uses it or pick another with --control-port`, 'UNAVAILABLE')
            : err,
        );
      };
      server.http.once('error', onError);
      server.http.listen(options.port, '127.0.0.1', () => {
        server.http.off('error', onError);
        resolve();
      });
    });
    const address = server.http.address();
    server.port = typeof address === 'object' && address ? address.port : options.port;
    manager.on('status', server.onStatus);
    manager.on('event', server.onEvent);
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  get dashboardUrl(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** Local tools send no Origin; the only page allowed is the dashboard this server serves. */
  private originAllowed(origin: string | undefined): boolean {
    if (origin === undefined || origin === '') return true;
    return origin === `http://127.0.0.1:${this.port}` || origin === `http://localhost:${this.port}`;
  }

  private onConnection(ws: WebSocket): void {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return this.reply(ws, null, undefined, new ClusterError('send JSON text frames', 'INVALID_ARGUMENT'));
      void this.handle(ws, data.toString());
    });
    ws.on('close', () => this.subscribers.delete(ws));
    ws.on('error', () => this.subscribers.delete(ws));
  }

  private async handle(ws: WebSocket, text: string): Promise<void> {
    let request: ControlEnvelope;
    try {
      request = JSON.parse(text);
    } catch {
      return this.reply(ws, null, undefined, new ClusterError('the message is not valid JSON', 'INVALID_ARGUMENT'));
    }
    const id = typeof request?.id === 'string' || typeof request?.id === 'number' ? request.id : null;
    try {
      if (typeof request !== 'object' || request === null || !CONTROL_OPS.includes(request.op)) {
        throw new ClusterError(`unknown op ${JSON.stringify((request as { op?: unknown })?.op)}; known: ${CONTROL_OPS.join(', ')}`, 'INVALID_ARGUMENT');
      }
      if (request.id !== undefined && request.id !== null && id === null) {
        // Its reply could not be told apart from others: refuse it rather than act on it.
        throw new ClusterError(`id must be a string or a number, not ${JSON.stringify(request.id)}`, 'INVALID_ARGUMENT');
      }
      if (request.v !== undefined && request.v !== CONTROL_API_VERSION) {
        throw new ClusterError(`this server speaks control API version ${CONTROL_API_VERSION}, not ${request.v}`, 'INVALID_ARGUMENT');
      }
      const result = await this.execute(ws, request);
      this.reply(ws, id, result);
    } catch (err) {
      this.reply(ws, id, undefined, err);
    }
  }

  private async execute(ws: WebSocket, r: ControlEnvelope): Promise<unknown> {
    const m = this.manager;
    switch (r.op) {
      case 'status':
        return m.status();
      case 'subscribe':
        this.subscribers.add(ws);
        return m.status();
      case 'unsubscribe':
        this.subscribers.delete(ws);
        return null;
      case 'kill':
        return m.kill(peer(r.peer));
      case 'restart':
        return m.restart(peer(r.peer));
      case 'pause':
        return m.pause(peer(r.peer));
      case 'resume':
        return m.resume(peer(r.peer));
      case 'isolate':
        return m.isolate(peer(r.peer));
      case 'partition':
        if (!Array.isArray(r.peers)) throw invalid('partition needs "peers": a list of peer names');
        return m.partition(r.peers.map(peer), r.oneWay === true);
      case 'cut':
        return m.cutLink(peer(r.from), peer(r.to), r.oneWay !== false);
      case 'drop':
        return m.drop(peer(r.from), peer(r.to), num(r.percent, 'percent'));
      case 'delay':
        return m.delay(peer(r.from), peer(r.to), num(r.ms, 'ms'), r.jitterMs === undefined ? 0 : num(r.jitterMs, 'jitterMs'));
      case 'heal':
        return m.heal();
      case 'transfer':
        return m.transferLeader(peer(r.peer));
      case 'add': {
        if (r.learner !== undefined && typeof r.learner !== 'boolean') throw invalid('"learner" must be true or false');
        const id = await m.addPeer({ learner: r.learner === true });
        return { id, name: `n${id}` };
      }
      case 'promote':
        return m.promotePeer(peer(r.peer));
      case 'remove':
        return m.removePeer(peer(r.peer));
      case 'put':
        return kvPut(m, str(r.key, 'key'), str(r.value, 'value'));
      case 'get':
        return kvGet(m, str(r.key, 'key'));
      case 'alarm':
        // kvAlarm checks them too; these messages name the request's fields.
        if (r.action !== 'list' && r.action !== 'raise' && r.action !== 'disarm') throw invalid('alarm needs "action": list, raise or disarm');
        if (r.alarm !== undefined && r.alarm !== 'NOSPACE' && r.alarm !== 'CORRUPT') throw invalid('"alarm" is NOSPACE or CORRUPT');
        return kvAlarm(m, r.action, r.alarm);
    }
  }

  private reply(ws: WebSocket, id: string | number | null, result: unknown, err?: unknown): void {
    const message: ControlReply =
      err === undefined
        ? { v: 1, id, ok: true, result: result ?? null }
        : {
            v: 1,
            id,
            ok: false,
            error: { code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message ?? String(err) },
          };
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  }

  private push(message: ControlPush): void {
    if (this.subscribers.size === 0) return;
    const text = JSON.stringify(message);
    for (const ws of this.subscribers) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const dir = this.options.dashboardDir;
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method !== 'GET' || !dir) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const file = path === '/' ? 'index.html' : normalize(path).replace(/^[/\\]+/, '');
    if (file.includes('..')) {
      res.writeHead(400).end();
      return;
    }
    try {
      const body = await readFile(join(dir, file));
      res.writeHead(200, { 'content-type': contentType(file), 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  }

  async close(): Promise<void> {
    this.manager.off('status', this.onStatus);
    this.manager.off('event', this.onEvent);
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }
}

function invalid(message: string): ClusterError {
  return new ClusterError(message, 'INVALID_ARGUMENT');
}

function peer(ref: unknown): string | number {
  if (typeof ref === 'string' && ref.length > 0) return ref;
  if (typeof ref === 'number' && Number.isInteger(ref)) return ref;
  throw invalid(`a peer is a name like "n2", an id, or "leader"; got ${JSON.stringify(ref)}`);
}

function num(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`"${name}" must be a number`);
  return value;
}

function str(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalid(`"${name}" must be a string`);
  return value;
}

function contentType(file: string): string {
  if (file.endsWith('.html')) return 'text/html; charset=utf-8';
  if (file.endsWith('.js')) return 'text/javascript; charset=utf-8';
  if (file.endsWith('.css')) return 'text/css; charset=utf-8';
  if (file.endsWith('.svg')) return 'image/svg+xml';
  if (file.endsWith('.png')) return 'image/png';
  return 'application/octet-stream';
}
