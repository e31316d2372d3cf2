// The benchmark's client: raw etcd v3 gRPC calls through @grpc/grpc-js, so the same code measures Raft Lab
// and real etcd. One channel per endpoint; requests are spread over the endpoints round-robin.
import * as grpc from '@grpc/grpc-js';
import { etcdPackageDefinition } from '../src/api/etcd/proto.ts';

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
  }

  private call(method: keyof Omit<Stub, 'close'>, req: object, endpoint?: number, timeoutMs = 5000): Promise<any> {
    const i = endpoint ?? this.next++ % this.kv.length;
    const stub = this.kv[i]!;
    return new Promise((resolve, reject) =>
      stub[method].call(stub, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))),
    );
  }

  put(key: Buffer, value: Buffer, endpoint?: number, timeoutMs?: number): Promise<any> {
    return this.call('Put', { key, value }, endpoint, timeoutMs);
  }

  get(key: Buffer, serializable: boolean, endpoint?: number): Promise<any> {
    return this.call('Range', { key, serializable }, endpoint);
  }

  /** Compare-and-swap: set key to next if its value is prev. */
  cas(key: Buffer, prev: Buffer, next: Buffer): Promise<any> {
    return this.call('Txn', {
      compare: [{ key, target: 'VALUE', result: 'EQUAL', value: prev }],
      success: [{ requestPut: { key, value: next } }],
      failure: [{ requestRange: { key } }],
    });
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
  }
}
