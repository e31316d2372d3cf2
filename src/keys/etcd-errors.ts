// What the etcd3 client's gRPC errors mean, in words for the user: a value over etcd's request limit, an
// endpoint that cannot be reached, every endpoint failing, a cluster without a leader. Errors not recognised pass through unchanged (their
// messages still name etcd's reason, and isCompactedError keeps matching). No `vscode` here.

/**
 * etcd's default --max-request-bytes. A larger value is refused before it is sent: etcd would refuse it anyway,
 * and over gRPC's 2 MiB the etcd3 client counts the refusal as a failing endpoint and retries it until its
 * circuit breaker stops every request for a few seconds.
 */
export const ETCD_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/**
 * How long a call (not a watch) may wait for etcd's answer. etcd itself answers within its request timeout (7 s
 * with default timing: 5 s + two election timeouts); an endpoint that accepts connections and never answers (a
 * stopped process, another service, a firewall that drops packets) would otherwise hold a save or a connect forever.
 */
export const CALL_DEADLINE_MS = 10_000;

export class ValueTooLargeError extends Error {
  constructor(readonly bytes: number | undefined) {
    super(`the value${bytes ? ` (${formatBytes(bytes)})` : ''} is over etcd's 1.5 MiB request limit; nothing was written`);
    this.name = 'ValueTooLargeError';
  }
}

export class UnreachableError extends Error {
  constructor(
    readonly endpoint: string,
    readonly reason: string,
  ) {
    super(`cannot reach etcd at ${endpoint} (${reason})`);
    this.name = 'UnreachableError';
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  ECONNRESET: 'connection reset',
};

/** The error to show for what an etcd call threw; `requestBytes` is the size of the value being written (0 for a delete), undefined for a read. */
export function explainEtcdError(err: unknown, requestBytes?: number): unknown {
  const message = (err as { message?: unknown })?.message;
  if (typeof message !== 'string') return err;
  const larger = /Received message larger than max \((\d+) vs \d+\)/.exec(message);
  if (larger) return new ValueTooLargeError(requestBytes ?? Number(larger[1]));
  if (/request is too large/.test(message)) return new ValueTooLargeError(requestBytes);
  const network = /\b(E[A-Z_]+) (\[[0-9a-fA-F:]+\]:\d+|[\w.-]+:\d+|[\w.-]+)/.exec(message);
  if (network && REASONS[network[1]!] && /UNAVAILABLE|No connection established|connect /.test(message)) {
    return new UnreachableError(network[2]!, REASONS[network[1]!]!);
  }
  if (/etcdserver: request timed out/.test(message)) {
    // etcd gives up waiting for the write to commit; it may still commit later, or may never have been proposed.
    return new Error(
      requestBytes !== undefined
        ? 'the cluster did not commit the write in time: it has no leader, or its leader cannot reach a majority of the nodes (the write may or may not have happened)'
        : 'the cluster did not answer in time: it has no leader, or its leader cannot reach a majority of the nodes',
    );
  }
  if (/UNKNOWN: context deadline exceeded/.test(message)) {
    // etcd's answer when the request waited for a leader and never got into Raft: nothing happened.
    return new Error(`the cluster has no leader: the ${requestBytes !== undefined ? 'write' : 'request'} waited for one and was not made (a majority of the nodes must be up and connected)`);
  }
  if (/etcdserver: no leader/.test(message)) {
    return new Error('the cluster has no leader right now: a majority of its nodes must be up and connected to elect one');
  }
  if (/etcdserver: leader changed/.test(message)) {
    return new Error('the leader changed while the request was in flight; try again (a write may or may not have happened)');
  }
  if (/DEADLINE_EXCEEDED/.test(message)) {
    // Our own deadline (CALL_DEADLINE_MS): the endpoint took the call and said nothing.
    const what = requestBytes !== undefined ? ' (the write may or may not have happened)' : '';
    return new Error(`etcd did not answer within ${CALL_DEADLINE_MS / 1000} s: it may be stopped or overloaded, or the endpoint may not be etcd${what}`);
  }
  if (/mvcc: database space exceeded/.test(message)) {
    return new Error("the cluster's disk is full (etcd's NOSPACE alarm, database space exceeded): writes that grow the store are refused until the alarm is disarmed");
  }
  if (/circuit breaker is open/.test(message)) {
    return new Error('no etcd endpoint answers right now (each failed its last requests; they are tried again in a few seconds)');
  }
  // etcd's own words without gRPC's status prefix ("9 FAILED_PRECONDITION: etcdserver: …").
  const prefixed = /^\d+ [A-Z_]+: (etcdserver: .*)$/s.exec(message);
  if (prefixed) return Object.assign(new Error(prefixed[1]), { code: (err as { code?: unknown }).code });
  return err;
}

/** Sizes as editors and file managers state them (decimal), so "1.6 MB" reads as over a 1.5 MiB limit. */
function formatBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} bytes`;
}
