// etcd's Auth service: authentication is not supported, so AuthStatus reports it disabled (what clients ask
// before anything else) and every other call answers UNIMPLEMENTED, saying why.
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServiceContext } from './context.ts';
import { ApiError } from './errors.ts';
import { unary } from './unary.ts';

const UNSUPPORTED = [
  'AuthEnable',
  'AuthDisable',
  'Authenticate',
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
  };
  for (const method of UNSUPPORTED) {
    service[method] = unary(async () => {
      throw new ApiError(`etcdserver: ${method} is not supported: Raft Lab runs without authentication`, 'UNIMPLEMENTED');
    });
  }
  return service;
}
