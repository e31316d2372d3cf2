// Errors the cluster manager and its tools answer with: a message for the user and a gRPC-style code (the control
// API and the etcd API pass the code on).

export class ClusterError extends Error {
  constructor(
    message: string,
    readonly code: string = 'FAILED_PRECONDITION',
  ) {
    super(message);
    this.name = 'ClusterError';
  }
}
