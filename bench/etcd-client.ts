// The benchmark's client: raw etcd v3 gRPC calls, so the same code measures Raft Lab and real etcd. KV calls go
// over one HTTP/2 connection per endpoint (grpc-unary.ts), Status through grpc-js; requests are spread over the
// endpoints round-robin.
import * as grpc from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../src/api/etcd/proto.ts';
import { UnaryChannel, encodeCas, encodePut, encodeRange, txnSucceeded } from './grpc-unary.ts';

type Unary = (req: object, opts: { deadline: number }, cb: (err: grpc.ServiceError | null, res: any) => void) => void;
interface Stub {
  Range: Unary;
  Put: Unary;
  Txn: Unary;
  close(): void;
}
interface MaintenanceStub {
  Status: Unary;
  close(): void;
}

const pkg = grpc.loadPackageDefinition(etcdPackageDefinition()) as any;

export class EtcdClient {
  private readonly kv: Stub[];
  private readonly maintenance: MaintenanceStub[];
  /** The raw HTTP/2 path for KV calls (the default); RAFTLAB_BENCH_CLIENT=grpc-js sends them through grpc-js. */
  private readonly lean: UnaryChannel[] | undefined;
  private next = 0;

  constructor(readonly endpoints: string[]) {
    // grpc-js waits a second before reconnecting to an endpoint that refused it; startup and failover would
    // measure that back-off instead of the system, so both systems are polled every 20 ms instead.
    const options = {
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 20,
      'grpc.max_reconnect_backoff_ms': 100,
    };
    this.kv = endpoints.map((e) => new pkg.etcdserverpb.KV(e, grpc.credentials.createInsecure(), options));
    this.maintenance = endpoints.map((e) => new pkg.etcdserverpb.Maintenance(e, grpc.credentials.createInsecure(), options));
    this.lean = process.env.RAFTLAB_BENCH_CLIENT === 'grpc-js' ? undefined : endpoints.map((e) => new UnaryChannel(e));
  }

  private call(method: keyof Omit<Stub, 'close'>, req: object, encoded: () => Buffer, endpoint?: number, timeoutMs = 5000): Promise<any> {
    const i = endpoint ?? this.next++ % this.kv.length;
    if (this.lean) return this.lean[i]!.call(`/etcdserverpb.KV/${method}`, encoded(), timeoutMs);
    const stub = this.kv[i]!;
    return new Promise((resolve, reject) =>
      stub[method].call(stub, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  put(key: Buffer, value: Buffer, endpoint?: number, timeoutMs?: number): Promise<unknown> {
    return this.call('Put', { key, value }, () => encodePut(key, value), endpoint, timeoutMs);
  }

  get(key: Buffer, serializable: boolean, endpoint?: number): Promise<unknown> {
    return this.call('Range', { key, serializable }, () => encodeRange(key, serializable), endpoint);
  }

  /** Compare-and-swap: set key to next if its value is prev. Resolves with whether it swapped. */
  async cas(key: Buffer, prev: Buffer, next: Buffer): Promise<boolean> {
    const req = {
      compare: [{ key, target: 'VALUE', result: 'EQUAL', value: prev }],
      success: [{ requestPut: { key, value: next } }],
      failure: [{ requestRange: { key } }],
    };
    const res = await this.call('Txn', req, () => encodeCas(key, prev, next));
    return Buffer.isBuffer(res) ? txnSucceeded(res) : (res as { succeeded: boolean }).succeeded;
  }

  status(endpoint: number, timeoutMs = 1000): Promise<any> {
    const stub = this.maintenance[endpoint]!;
    return new Promise((resolve, reject) =>
      stub.Status.call(stub, {}, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  close(): void {
    for (const s of this.kv) s.close();
    for (const s of this.maintenance) s.close();
    for (const c of this.lean ?? []) c.close();
  }
}
