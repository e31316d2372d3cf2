// etcd's Auth service: authentication is not supported, so it is always disabled, and the calls that etcd answers
// with auth disabled are answered as etcd does: AuthStatus reports it off (clients ask first), Authenticate says
// it is not enabled (clients given credentials then go on without a token), AuthDisable is a no-op. Managing
// users and roles, and turning auth on, answer UNIMPLEMENTED, saying why.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServiceContext } from './context.ts';
import { ApiError } from './errors.ts';
import { unary } from './unary.ts';

const UNSUPPORTED = [
  'AuthEnable',
  'UserAdd',
  'UserGet',
  'UserList',
  'UserDelete',
  'UserChangePassword',
  'UserGrantRole',
  'UserRevokeRole',
  'RoleAdd',
  'RoleGet',
  'RoleList',
  'RoleDelete',
  'RoleGrantPermission',
  'RoleRevokePermission',
];

export function authService(ctx: ServiceContext): UntypedServiceImplementation {
  const service: UntypedServiceImplementation = {
    AuthStatus: unary(async () => ({ header: ctx.headers.make(), enabled: false, authRevision: 0 })),
    Authenticate: unary(async () => {
      throw new ApiError('etcdserver: authentication is not enabled', 'FAILED_PRECONDITION');
    }),
    AuthDisable: unary(async () => ({ header: ctx.headers.make() })),
  };
  for (const method of UNSUPPORTED) {
    service[method] = unary(async () => {
      throw new ApiError(`etcdserver: ${method} is not supported: Raft Lab runs without authentication`, 'UNIMPLEMENTED');
    });
  }
  return service;
}
