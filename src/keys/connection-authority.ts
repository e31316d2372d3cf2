// Which connection a value file belongs to, carried in its `raftlab:` URI's authority: `local` for the embedded
// cluster, `etcd-<hash of the endpoints>` for an external etcd. A file reads and writes only through the
// connection it was opened from, so an editor left open across a switch never writes one cluster's value into
// another. No `vscode` here.
import { createHash } from 'node:crypto';

export const LOCAL_AUTHORITY = 'local';

/** The authority of the files a connection opens: the local cluster, or an external etcd at these endpoints. */
export function connectionAuthority(connection: { local: true } | { endpoints: string[] }): string {
  if ('local' in connection) return LOCAL_AUTHORITY;
  const endpoints = [...new Set(connection.endpoints.map((e) => e.replace(/^https?:\/\//, '').toLowerCase()))].sort();
  return `etcd-${createHash('sha256').update(endpoints.join(',')).digest('hex').slice(0, 12)}`;
}

/** Why a file of `fileAuthority` cannot be read or saved through the current connection, or undefined when it can. */
export function wrongConnection(fileAuthority: string, current: string | undefined): string | undefined {
  if (fileAuthority === current) return undefined;
  if (fileAuthority === LOCAL_AUTHORITY) {
    return current ? 'this file belongs to the local cluster, which is not running (this window is connected to an external etcd)' : 'this file belongs to the local cluster, which is not running';
  }
  return current === LOCAL_AUTHORITY
    ? 'this file belongs to an external etcd, and this window runs the local cluster now'
    : 'this file belongs to an external etcd this window is not connected to (connect to it again to use it)';
}
