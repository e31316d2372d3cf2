// etcd's errors with their exact messages: the Go client recognises errors by message text, and the gRPC
// layer maps `code` to a status code. Keep the strings byte-for-byte as etcd's rpctypes define them.

export type GrpcCodeName =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'FAILED_PRECONDITION'
  | 'OUT_OF_RANGE'
  | 'UNAVAILABLE'
  | 'RESOURCE_EXHAUSTED'
  | 'DATA_LOSS';

/** gRPC status numbers, for the API layer. */
export const GRPC_CODE_NUMBERS: Readonly<Record<GrpcCodeName, number>> = {
  INVALID_ARGUMENT: 3,
  NOT_FOUND: 5,
  FAILED_PRECONDITION: 9,
  OUT_OF_RANGE: 11,
  UNAVAILABLE: 14,
  RESOURCE_EXHAUSTED: 8,
  DATA_LOSS: 15,
};

export const KV_ERRORS = {
  compacted: { message: 'etcdserver: mvcc: required revision has been compacted', code: 'OUT_OF_RANGE' },
  futureRevision: { message: 'etcdserver: mvcc: required revision is a future revision', code: 'OUT_OF_RANGE' },
  leaseNotFound: { message: 'etcdserver: requested lease not found', code: 'NOT_FOUND' },
  leaseExists: { message: 'etcdserver: lease already exists', code: 'FAILED_PRECONDITION' },
  leaseTtlTooLarge: { message: 'etcdserver: too large lease TTL', code: 'OUT_OF_RANGE' },
  emptyKey: { message: 'etcdserver: key is not provided', code: 'INVALID_ARGUMENT' },
  keyNotFound: { message: 'etcdserver: key not found', code: 'INVALID_ARGUMENT' },
  valueProvided: { message: 'etcdserver: value is provided', code: 'INVALID_ARGUMENT' },
  leaseProvided: { message: 'etcdserver: lease is provided', code: 'INVALID_ARGUMENT' },
  duplicateKey: { message: 'etcdserver: duplicate key given in txn request', code: 'INVALID_ARGUMENT' },
  tooManyOps: { message: 'etcdserver: too many operations in txn request', code: 'INVALID_ARGUMENT' },
  requestTooLarge: { message: 'etcdserver: request is too large', code: 'INVALID_ARGUMENT' },
  noLeader: { message: 'etcdserver: no leader', code: 'UNAVAILABLE' },
  notLeader: { message: 'etcdserver: not leader', code: 'UNAVAILABLE' },
  leaderChanged: { message: 'etcdserver: leader changed', code: 'UNAVAILABLE' },
  timeout: { message: 'etcdserver: request timed out', code: 'UNAVAILABLE' },
  badLeaderTransferee: { message: 'etcdserver: bad leader transferee', code: 'FAILED_PRECONDITION' },
  noSpace: { message: 'etcdserver: mvcc: database space exceeded', code: 'RESOURCE_EXHAUSTED' },
  corrupt: { message: 'etcdserver: corrupt cluster', code: 'DATA_LOSS' },
} as const satisfies Record<string, { message: string; code: GrpcCodeName }>;

export type KvErrorKind = keyof typeof KV_ERRORS;

export class KvError extends Error {
  readonly kind: KvErrorKind;
  readonly code: GrpcCodeName;

  constructor(kind: KvErrorKind) {
    super(KV_ERRORS[kind].message);
    this.name = 'KvError';
    this.kind = kind;
    this.code = KV_ERRORS[kind].code;
  }

  get grpcCode(): number {
    return GRPC_CODE_NUMBERS[this.code];
  }
}

export function isKvError(value: unknown): value is KvError {
  return value instanceof KvError;
}
