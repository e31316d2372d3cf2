// etcd's Watch service: one bidirectional stream carries many watches. Each watch is a watch on this peer's
// hub (which replays history, then follows applied revisions); this file maps the stream's watch ids to hub
// ids and the hub's batches to WatchResponses, fragmenting big ones when the client allows it.
import type { ServerDuplexStream, UntypedServiceImplementation } from '@grpc/grpc-js';
import { compareBytes } from '../../kv/bytes.ts';
import { withOwnedBytes } from '../../kv/owned-bytes.ts';
import type { WatchBatch } from '../../kv/watch-hub.ts';
import type { ServiceContext } from './context.ts';
import { bytes, event, num, watchFilters, type Wire } from './convert.ts';
import { noLeader, toServiceError } from './errors.ts';
import type { ProtoHeader } from './header.ts';

/** etcd sends progress notifications to watches that asked for them this often. */
const PROGRESS_INTERVAL_MS = 10 * 60 * 1000;
/** etcd's clientv3.InvalidWatchID: the id of a stream-wide progress response and of a failed create. */
const INVALID_WATCH_ID = -1;
/** etcd sends a new watch's history in responses of at most this many revisions (watchBatchMaxRevs). */
const CATCH_UP_MAX_REVISIONS = 1000;

export function watchService(ctx: ServiceContext): UntypedServiceImplementation {
  return { Watch: (call: ServerDuplexStream<Wire, Wire>) => new WatchStream(ctx, call) };
}

interface StreamWatch {
  hubId: number;
  fragment: boolean;
  progressNotify: boolean;
}

class WatchStream {
  private readonly watches = new Map<number, StreamWatch>();
  private nextId = 0;
  private closed = false;
  /** The client is not reading what was sent: the stream's watches are paused until it drains. */
  private paused = false;
  private readonly progressTimer: ReturnType<typeof setInterval>;
  private readonly unregister: () => void = () => undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly call: ServerDuplexStream<Wire, Wire>,
  ) {
    this.progressTimer = setInterval(() => this.notifyProgress(), PROGRESS_INTERVAL_MS);
    call.on('data', (request: Wire) => this.onRequest(request));
    // No 'end' handler: a client that stops sending still gets its watches' events, as from etcd, until it leaves.
    call.on('cancelled', () => this.close());
    call.on('error', () => this.close());
    call.on('close', () => this.close());
    // A client that asks for a leader (etcdctl, clientv3 with WithRequireLeader) is refused, or later cut
    // off, while this peer has none, so that it reconnects to a peer that has one.
    if (call.metadata.get('hasleader')[0] === 'true') {
      if (ctx.leader() === 0) {
        this.fail(noLeader());
        return;
      }
      this.unregister = ctx.leaderless.add((err) => this.fail(err));
    }
  }

  private onRequest(request: Wire): void {
    if (this.closed) return;
    try {
      if (request.createRequest) this.create(request.createRequest as Wire);
      else if (request.cancelRequest) this.cancel(num((request.cancelRequest as Wire).watchId));
      else if (request.progressRequest) this.progress();
    } catch (err) {
      this.fail(err);
    }
  }

  private create(req: Wire): void {
    // As etcd: an empty key means the smallest key, `\0`; a range end of `\0` means every key from `key` on.
    let key = bytes(req.key);
    if (key.length === 0) key = new Uint8Array([0]);
    const rangeEnd = bytes(req.rangeEnd);
    const fromKey = rangeEnd.length === 1 && rangeEnd[0] === 0;
    // etcd checks the range before the id, and a refused create takes no id.
    if (rangeEnd.length > 0 && !fromKey && compareBytes(key, rangeEnd) >= 0) return this.refuseCreate('mvcc: watcher range is empty');
    let id = num(req.watchId);
    if (id !== 0 && this.watches.has(id)) return this.refuseCreate('mvcc: duplicate watch ID provided on the WatchStream');
    if (id === 0) {
      while (this.watches.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    }
    const watch: StreamWatch = { hubId: -1, fragment: req.fragment === true, progressNotify: req.progressNotify === true };
    this.watches.set(id, watch);
    // The hub calls the sink synchronously, with the created batch first, then the history, before create()
    // returns. etcd sends that history in as few responses as it can, so it is gathered here first.
    let history: WatchBatch[] | undefined = [];
    watch.hubId = this.ctx.kv.sm.watches.create(
      { key, rangeEnd, startRevision: num(req.startRevision), prevKv: req.prevKv === true, filters: watchFilters(req.filters) },
      (batch) => (history && !batch.created && !batch.canceled ? history.push(batch) : this.onBatch(id, watch, batch)),
    );
    const gathered = history;
    history = undefined;
    for (let at = 0; at < gathered.length; at += CATCH_UP_MAX_REVISIONS) {
      const part = gathered.slice(at, at + CATCH_UP_MAX_REVISIONS);
      this.onBatch(id, watch, { ...part[part.length - 1]!, events: part.flatMap((b) => b.events) });
    }
    if (this.paused) this.ctx.kv.sm.watches.pause(watch.hubId);
  }

  /** A create etcd refuses is answered as created and cancelled at once, under the invalid id. */
  private refuseCreate(reason: string): void {
    this.send({ header: this.ctx.headers.make(), watchId: INVALID_WATCH_ID, created: true, canceled: true, cancelReason: reason });
  }

  private cancel(id: number): void {
    const watch = this.watches.get(id);
    // An unknown id gets no answer: clients fail on responses for watches they do not know.
    if (watch) this.ctx.kv.sm.watches.cancel(watch.hubId);
  }

  /** etcd answers a progress request with one response for the whole stream, if it has watches (and they are synced). */
  private progress(): void {
    if (this.watches.size === 0 || this.paused) return;
    this.send({ header: this.ctx.headers.make(), watchId: INVALID_WATCH_ID });
  }

  private notifyProgress(): void {
    for (const watch of this.watches.values()) if (watch.progressNotify) this.ctx.kv.sm.watches.progress(watch.hubId);
  }

  private onBatch(id: number, watch: StreamWatch, batch: WatchBatch): void {
    const header = this.ctx.headers.make(batch.revision);
    if (batch.created) {
      this.send({ header, watchId: id, created: true });
    } else if (batch.canceled) {
      if (this.watches.get(id) === watch) this.watches.delete(id);
      // etcd reports a compacted start revision by compact_revision alone, with a zero header revision;
      // clients turn that into "required revision has been compacted" themselves.
      const compacted = batch.compactRevision !== undefined && batch.compactRevision > 0;
      this.send({ header: compacted ? this.ctx.headers.make(0) : header, watchId: id, canceled: true, compactRevision: batch.compactRevision ?? 0 });
    } else {
      this.sendEvents(id, watch.fragment, header, batch);
    }
  }

  /** One revision's events in one response, or in fragments below the request size limit if allowed. */
  private sendEvents(id: number, fragment: boolean, header: ProtoHeader, batch: WatchBatch): void {
    const events = batch.events.map(event);
    const limit = this.ctx.kv.sm.config.maxRequestBytes;
    const sizes = batch.events.map((e) => 64 + e.kv.key.length + e.kv.value.length + (e.prevKv ? e.prevKv.key.length + e.prevKv.value.length + 32 : 0));
    const total = sizes.reduce((a, b) => a + b, 0);
    if (!fragment || events.length < 2 || total < limit) {
      this.send({ header, watchId: id, events });
      return;
    }
    let at = 0;
    while (at < events.length) {
      let size = 0;
      const start = at;
      // Each fragment holds at least one event and stays under the limit when it holds more.
      while (at < events.length && (at === start || size + sizes[at]! < limit)) size += sizes[at++]!;
      this.send({ header, watchId: id, events: events.slice(start, at), fragment: at < events.length });
    }
  }

  private send(response: Wire): void {
    if (this.closed) return;
    // grpc-js encodes a response when its turn comes: one queued behind a slow client must not hold the
    // chunks its values live in (a few events could keep many 256 KB chunks from being freed).
    const flowing = this.call.write(this.call.writableLength > 0 ? withOwnedBytes(response) : response);
    if (!flowing && !this.paused) this.pauseWatches();
  }

  /**
   * The client stopped reading (its HTTP/2 window is full and responses queue here): rather than queue every
   * event in memory, the watches stop and catch up from the store's history once the queue drains, as etcd
   * moves a slow watcher to its unsynced group.
   */
  private pauseWatches(): void {
    this.paused = true;
    for (const watch of this.watches.values()) this.ctx.kv.sm.watches.pause(watch.hubId);
    this.call.once('drain', () => this.resumeWatches());
  }

  private resumeWatches(): void {
    if (this.closed) return;
    this.paused = false;
    for (const watch of [...this.watches.values()]) {
      this.ctx.kv.sm.watches.resume(watch.hubId); // its catch-up may fill the queue and pause them all again
      if (this.paused) return;
    }
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    this.call.emit('error', toServiceError(err));
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.progressTimer);
    this.unregister();
    for (const watch of this.watches.values()) this.ctx.kv.sm.watches.remove(watch.hubId);
    this.watches.clear();
  }
}
