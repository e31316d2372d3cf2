// The KvSource over the npm `etcd3` client: one client for the embedded cluster (every member's endpoint) or
// for an external etcd (with TLS and user/password when given). Keys and values stay bytes (Buffers) throughout.
// The embedded cluster's members change (nodes added and removed): setEndpoints swaps in a client for the new
// set and moves the open watches to it, so the same source keeps working. Errors come out explained
// (etcd-errors.ts).
import { Etcd3, type IKeyValue, type IOptions, type Watcher } from 'etcd3';
import { CALL_DEADLINE_MS, ETCD_MAX_REQUEST_BYTES, ValueTooLargeError, explainEtcdError } from './etcd-errors.ts';
import { sameEndpoints } from './endpoints.ts';
import type { KeyValue, KvSource, RangeRequest, RangeResult, WatchEvent, WatchHandle } from './kv-source.ts';

export { parseEndpoints } from './endpoints.ts';

export interface ConnectOptions {
  /** host:port or http(s)://host:port, one or more. */
  endpoints: string[];
  /** PEM contents (not paths); with any of these the connection uses TLS. */
  tls?: { ca?: Uint8Array; cert?: Uint8Array; key?: Uint8Array };
  auth?: { username: string; password: string };
  dialTimeoutMs?: number;
}

/** How long closing a watch waits for etcd to confirm the cancel. */
const CANCEL_WAIT_MS = 2000;

const buf = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

function toKeyValue(kv: IKeyValue): KeyValue {
  return {
    key: new Uint8Array(kv.key ?? []),
    value: new Uint8Array(kv.value ?? []),
    createRevision: Number(kv.create_revision ?? 0),
    modRevision: Number(kv.mod_revision ?? 0),
    version: Number(kv.version ?? 0),
    lease: String(kv.lease ?? '0'),
  };
}

/** One watch the source keeps open, on whichever client is current. */
interface OpenWatch {
  key: Uint8Array;
  rangeEnd: Uint8Array | undefined;
  onEvents: (events: WatchEvent[]) => void;
  onError: ((err: Error) => void) | undefined;
  /** Its watcher on the current client: connected, or still being created. */
  watcher: Watcher | undefined;
  /** The first revision its watcher has not delivered: a successor after a client swap starts there. */
  resumeAt: number | undefined;
  /** The creation of its latest watcher (a swap starts another). */
  starting: Promise<void> | undefined;
}

/** Runs an etcd call; what it throws comes out explained. A write over etcd's request limit is not sent. */
async function explained<T>(call: () => Promise<T>, requestBytes?: number): Promise<T> {
  if (requestBytes !== undefined && requestBytes > ETCD_MAX_REQUEST_BYTES) throw new ValueTooLargeError(requestBytes);
  try {
    return await call();
  } catch (err) {
    throw explainEtcdError(err, requestBytes);
  }
}

export class Etcd3Source implements KvSource {
  private current: Etcd3;
  private currentEndpoints: string[];
  private closed = false;
  private readonly watches = new Set<OpenWatch>();
  /** Watchers being created, each on the client current when it started. */
  private readonly starting = new Set<Promise<void>>();
  /**
   * Every watcher this source started and has not cancelled, with what ends the wait for its creation. A watcher
   * nobody cancels retries forever once its client is closed: cancelling each one is what lets a client go.
   */
  private readonly live = new Map<Watcher, () => void>();

  constructor(readonly options: ConnectOptions) {
    this.currentEndpoints = options.endpoints;
    this.current = this.connect(options.endpoints);
  }

  get client(): Etcd3 {
    return this.current;
  }

  /** The endpoints the client uses now. */
  get endpoints(): string[] {
    return this.currentEndpoints;
  }

  /**
   * Uses these endpoints from now on (the cluster's members changed): a new client replaces the old one, and
   * the open watches move to it. Returns whether anything changed.
   */
  setEndpoints(endpoints: string[]): boolean {
    // A closed source stays closed: a status arriving while the cluster stops must not open a new client.
    if (this.closed || endpoints.length === 0 || sameEndpoints(endpoints, this.currentEndpoints)) return false;
    const old = this.current;
    // Watchers still being created on the old client cancel themselves (startWatcher); wait for those too.
    const leaving: Promise<unknown>[] = [...this.starting];
    this.currentEndpoints = endpoints;
    this.current = this.connect(endpoints);
    for (const w of this.watches) {
      // The old watcher (connected, or still being created) goes quietly and is cancelled.
      const watcher = w.watcher;
      w.watcher = undefined;
      if (watcher) leaving.push(this.cancelWatcher(watcher));
      w.starting = this.startWatcher(w);
      w.starting.catch((err: Error) => w.onError?.(err));
    }
    // Closed once its watchers are gone, or after a few seconds when its endpoints no longer answer.
    const grace = new Promise((r) => setTimeout(r, 5000).unref());
    void Promise.race([Promise.allSettled(leaving), grace]).then(() => old.close());
    return true;
  }

  private connect(endpoints: string[]): Etcd3 {
    const options = this.options;
    const tls = options.tls;
    const secure = !!tls && (!!tls.ca || !!tls.cert);
    const hosts = endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${secure ? 'https' : 'http'}://${e}`)).map((e) => (secure ? e.replace(/^http:/, 'https:') : e));
    const opts: IOptions = {
      hosts,
      dialTimeout: options.dialTimeoutMs ?? 3000,
      // Every call but a watch has a deadline: an endpoint that never answers must not hold a save forever.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
    };
    if (secure) {
      opts.credentials = {
        rootCertificate: tls.ca ? buf(tls.ca) : (undefined as unknown as Buffer),
        ...(tls.key ? { privateKey: buf(tls.key) } : {}),
        ...(tls.cert ? { certChain: buf(tls.cert) } : {}),
      };
    }
    if (options.auth) opts.auth = { username: options.auth.username, password: options.auth.password };
    return new Etcd3(opts);
  }

  async range(req: RangeRequest): Promise<RangeResult> {
    const res = await explained(() => this.client.kv.range({
      key: buf(req.key),
      ...(req.rangeEnd ? { range_end: buf(req.rangeEnd) } : {}),
      ...(req.limit ? { limit: req.limit } : {}),
      ...(req.keysOnly ? { keys_only: true } : {}),
      ...(req.countOnly ? { count_only: true } : {}),
      ...(req.revision ? { revision: req.revision } : {}),
    }));
    return {
      kvs: (res.kvs ?? []).map(toKeyValue),
      more: !!res.more,
      count: Number(res.count ?? 0),
      revision: Number(res.header?.revision ?? 0),
    };
  }

  async put(key: Uint8Array, value: Uint8Array, lease?: string): Promise<{ revision: number }> {
    const res = await explained(() => this.client.kv.put({ key: buf(key), value: buf(value), ...(lease && lease !== '0' ? { lease } : {}) }), value.length);
    return { revision: Number(res.header?.revision ?? 0) };
  }

  async putIfModRevision(key: Uint8Array, value: Uint8Array, modRevision: number) {
    const res = await explained(
      () =>
        this.client.kv.txn({
          compare: [{ key: buf(key), target: 'Mod', result: 'Equal', mod_revision: modRevision }],
          success: [{ request_put: { key: buf(key), value: buf(value) } }],
          failure: [{ request_range: { key: buf(key) } }],
        }),
      value.length,
    );
    const revision = Number(res.header?.revision ?? 0);
    if (res.succeeded) return { succeeded: true, revision };
    const kv = res.responses?.[0]?.response_range?.kvs?.[0];
    return kv ? { succeeded: false, revision, current: toKeyValue(kv) } : { succeeded: false, revision };
  }

  async deleteRange(key: Uint8Array, rangeEnd?: Uint8Array) {
    // A write with no value bytes: its errors read as a write's ("may or may not have happened").
    const res = await explained(() => this.client.kv.deleteRange({ key: buf(key), ...(rangeEnd ? { range_end: buf(rangeEnd) } : {}) }), 0);
    return { deleted: Number(res.deleted ?? 0), revision: Number(res.header?.revision ?? 0) };
  }

  async leaseTimeToLive(lease: string) {
    const res = await explained(() => this.client.leaseClient.leaseTimeToLive({ ID: lease }));
    return { ttl: Number(res.TTL ?? -1), grantedTtl: Number(res.grantedTTL ?? 0) };
  }

  async watch(key: Uint8Array, rangeEnd: Uint8Array | undefined, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void): Promise<WatchHandle> {
    const w: OpenWatch = { key, rangeEnd, onEvents, onError, watcher: undefined, resumeAt: undefined, starting: undefined };
    // Listed before it starts, so a client swap meanwhile starts it again on the new client.
    this.watches.add(w);
    try {
      w.starting = this.startWatcher(w);
      // Answered once the watcher that will deliver is confirmed: one a swap replaced before etcd confirmed it had
      // no revision to hand on, so its successor only sees changes from its own creation.
      for (let awaited; awaited !== w.starting; ) {
        awaited = w.starting;
        await awaited;
      }
    } catch (err) {
      this.watches.delete(w);
      throw err;
    }
    return {
      close: async () => {
        this.watches.delete(w);
        // Also a watcher still being created (a client swap is under way): left alone, it would attach itself.
        const watcher = w.watcher;
        w.watcher = undefined;
        if (!watcher) return;
        // The cancel waits for etcd's answer; a member that does not answer (paused, cut off) must not hold up
        // a stop. The watcher is off our books already, and closing its client ends it.
        await Promise.race([this.cancelWatcher(watcher), new Promise((r) => setTimeout(r, CANCEL_WAIT_MS).unref())]);
      },
    };
  }

  /** Starts `w`'s watcher on the current client (listed in `starting` meanwhile). */
  private startWatcher(w: OpenWatch): Promise<void> {
    const started = this.createWatcher(w).finally(() => this.starting.delete(started));
    this.starting.add(started);
    return started;
  }

  private async createWatcher(w: OpenWatch): Promise<void> {
    const builder = this.client.watch();
    // Resuming where the old client's watcher was: changes made during the swap are replayed, not lost.
    if (w.resumeAt !== undefined) builder.startRevision(String(w.resumeAt));
    // watcher() (not create(), which hides the watcher until etcd confirms it) attaches it at once, so a client
    // swap or a close meanwhile can cancel it.
    const watcher = (w.rangeEnd ? builder.inRange({ start: buf(w.key), end: buf(w.rangeEnd) }) : builder.key(buf(w.key))).watcher();
    w.watcher = watcher;
    const cancelled = new Promise<'cancelled'>((resolve) => this.live.set(watcher, () => resolve('cancelled')));
    // Where a successor resumes is kept here, not taken from etcd3's lastRevision(): that jumps to the created
    // answer's revision (the store's current one), ahead of the history a resumed watch has yet to receive, so a
    // swap right then lost it. A watch from "now" starts after the created answer's revision; later, after the
    // last event seen.
    // etcd3 itself reconnects a watcher from the same wrong revision when its connection breaks (a peer killed), so
    // the revision it will ask for is corrected after etcd3's own listeners (registered first) have set theirs.
    const keepResumePoint = () => {
      if (w.resumeAt !== undefined) watcher.request.start_revision = w.resumeAt;
    };
    watcher.on('connected', (res) => {
      if (w.watcher !== watcher) return;
      w.resumeAt ??= Number(res.header.revision) + 1;
      keepResumePoint();
    });
    watcher.on('data', (res) => {
      if (w.watcher !== watcher) return;
      const events = (res.events ?? []).map((e) => ({ type: e.type === 'Delete' ? 'delete' : 'put', kv: toKeyValue(e.kv) }) as WatchEvent);
      // An answer without events is a progress notification: etcd sends one only to a watch that has everything
      // up to its revision, so a successor may start after it (as etcd's Go client does).
      const seen = events.length > 0 ? events[events.length - 1]!.kv.modRevision : Number(res.header?.revision ?? 0);
      w.resumeAt = Math.max(w.resumeAt ?? 0, seen + 1);
      keepResumePoint();
      if (events.length > 0) w.onEvents(events);
    });
    let created = false;
    const confirmed = new Promise<'created'>((resolve, reject) => {
      watcher.once('connected', () => resolve('created'));
      watcher.once('error', reject);
    });
    // An error before etcd confirms the watch rejects `confirmed`; later ones go to the watch's owner.
    watcher.on('error', (err: Error) => {
      if (created && w.watcher === watcher) w.onError?.(explainEtcdError(err) as Error);
    });
    try {
      created = (await explained(() => Promise.race([confirmed, cancelled]))) === 'created';
    } catch (err) {
      if (w.watcher === watcher) w.watcher = undefined;
      // Not awaited: a watcher etcd refused may never answer a cancel.
      void this.cancelWatcher(watcher);
      throw err;
    }
  }

  /** Cancels a watcher of this source (once), connected or still being created. */
  private cancelWatcher(watcher: Watcher): Promise<void> {
    const stopWaiting = this.live.get(watcher);
    if (!stopWaiting) return Promise.resolve();
    this.live.delete(watcher);
    stopWaiting();
    return watcher
      .removeAllListeners()
      .on('error', () => undefined)
      .cancel()
      .catch(() => undefined);
  }

  /** Cancels every watcher (ones still being created too), then closes the client. */
  close(): void {
    this.closed = true;
    for (const w of this.watches) w.watcher = undefined;
    this.watches.clear();
    for (const watcher of [...this.live.keys()]) void this.cancelWatcher(watcher);
    this.client.close();
  }
}
