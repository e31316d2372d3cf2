// Why the leader refused a membership change, in words. etcd answers a risky change with a bare "etcdserver:
// unhealthy cluster"; the cluster's status says which voter is the reason. No `vscode` here, so tests check it.
import type { ClusterStatus, PeerView } from '../cluster/status.ts';

export type MembershipChange = 'add' | 'remove';

/** The error to show for a failed Add Node / Remove Node: explained when etcd called the cluster unhealthy. */
export function explainMembershipRefusal(err: unknown, change: MembershipChange, status: ClusterStatus, removing?: PeerView): unknown {
  const message = (err as { message?: unknown })?.message;
  if (typeof message !== 'string' || !/unhealthy cluster/.test(message)) return err;
  const rule = change === 'add' ? 'etcd changes membership only when every voter is connected' : 'etcd removes a member only when the rest keep a quorum';
  const absent = status.peers.filter((p) => !p.isLearner && p.state !== 'removed' && p.id !== removing?.id && (p.state !== 'up' || p.cutOff));
  if (absent.length === 0) return new Error(`the leader refused (${rule}) and a voter is not connected yet; try again once every node is up`);
  const names = absent.map((p) => p.name).join(' and ');
  const states = absent.map((p) => `${p.name} is ${p.state === 'up' ? 'isolated' : p.state}`).join(', ');
  return new Error(`${states}: ${rule}. Restart or remove ${names} first.`);
}
