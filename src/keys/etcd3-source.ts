// The KvSource over the npm `etcd3` client: one client for the embedded cluster (every peer's endpoint) or for
// an external etcd (with TLS and user/password when given). Keys and values stay bytes (Buffers) throughout.
import { Etcd3, type IKeyValue, type IOptions } from 'etcd3';
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

export class Etcd3Source implements KvSource {
  readonly client: Etcd3;

  constructor(readonly options: ConnectOptions) {
    const tls = options.tls;
    const secure = !!tls && (!!tls.ca || !!tls.cert);
    const hosts = options.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `${secure ? 'https' : 'http'}://${e}`)).map((e) => (secure ? e.replace(/^http:/, 'https:') : e));
    const opts: IOptions = { hosts, dialTimeout: options.dialTimeoutMs ?? 3000 };
    if (secure) {
      opts.credentials = {
        rootCertificate: tls.ca ? buf(tls.ca) : (undefined as unknown as Buffer),
        ...(tls.key ? { privateKey: buf(tls.key) } : {}),
        ...(tls.cert ? { certChain: buf(tls.cert) } : {}),
      };
    }
    if (options.auth) opts.auth = { username: options.auth.username, password: options.auth.password };
    this.client = new Etcd3(opts);
  }

  async range(req: RangeRequest): Promise<RangeResult> {
    const res = await this.client.kv.range({
      key: buf(req.key),
      ...(req.rangeEnd ? { range_end: buf(req.rangeEnd) } : {}),
      ...(req.limit ? { limit: req.limit } : {}),
      ...(req.keysOnly ? { keys_only: true } : {}),
      ...(req.countOnly ? { count_only: true } : {}),
      ...(req.revision ? { revision: req.revision } : {}),
    });
    return {
      kvs: (res.kvs ?? []).map(toKeyValue),
      more: !!res.more,
      count: Number(res.count ?? 0),
      revision: Number(res.header?.revision ?? 0),
    };
  }

  async put(key: Uint8Array, value: Uint8Array, lease?: string): Promise<{ revision: number }> {
    const res = await this.client.kv.put({ key: buf(key), value: buf(value), ...(lease && lease !== '0' ? { lease } : {}) });
    return { revision: Number(res.header?.revision ?? 0) };
  }

  async putIfModRevision(key: Uint8Array, value: Uint8Array, modRevision: number) {
    const res = await this.client.kv.txn({
      compare: [{ key: buf(key), target: 'Mod', result: 'Equal', mod_revision: modRevision }],
      success: [{ request_put: { key: buf(key), value: buf(value) } }],
      failure: [{ request_range: { key: buf(key) } }],
    });
    const revision = Number(res.header?.revision ?? 0);
    if (res.succeeded) return { succeeded: true, revision };
    const kv = res.responses?.[0]?.response_range?.kvs?.[0];
    return kv ? { succeeded: false, revision, current: toKeyValue(kv) } : { succeeded: false, revision };
  }

  async deleteRange(key: Uint8Array, rangeEnd?: Uint8Array) {
    const res = await this.client.kv.deleteRange({ key: buf(key), ...(rangeEnd ? { range_end: buf(rangeEnd) } : {}) });
    return { deleted: Number(res.deleted ?? 0), revision: Number(res.header?.revision ?? 0) };
  }

  async leaseTimeToLive(lease: string) {
    const res = await this.client.leaseClient.leaseTimeToLive({ ID: lease });
    return { ttl: Number(res.TTL ?? -1), grantedTtl: Number(res.grantedTTL ?? 0) };
  }

  async watch(key: Uint8Array, rangeEnd: Uint8Array | undefined, onEvents: (events: WatchEvent[]) => void, onError?: (err: Error) => void): Promise<WatchHandle> {
    const builder = this.client.watch();
    const watcher = await (rangeEnd ? builder.inRange({ start: buf(key), end: buf(rangeEnd) }) : builder.key(buf(key))).create();
    watcher.on('data', (res) => {
      const events = (res.events ?? []).map((e) => ({ type: e.type === 'Delete' ? 'delete' : 'put', kv: toKeyValue(e.kv) }) as WatchEvent);
      if (events.length > 0) onEvents(events);
    });
    watcher.on('error', (err: Error) => onError?.(err));
    return { close: () => watcher.cancel() };
  }

  close(): void {
    this.client.close();
  }
}
