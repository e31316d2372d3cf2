// The words the status bar and the Cluster view show for a cluster, from the shared status model. No `vscode`
// here, so the tests check them directly.
import type { ClusterStatus, PeerView } from '../cluster/status.ts';

export type StatusTone = 'normal' | 'warning' | 'error';

export interface StatusBarText {
  text: string;
  tooltip: string;
  tone: StatusTone;
}

/** `Raft Lab: n2 leader · term 7 · 3/3 up`; warning without quorum or leader, or with an etcd alarm raised. */
export function statusBarText(status: ClusterStatus): StatusBarText {
  const members = status.peers.filter((p) => p.state !== 'removed');
  const up = members.filter((p) => p.state === 'up' && !p.cutOff).length;
  const leader = members.find((p) => p.id === status.leader);
  const head = leader ? `${leader.name} leader` : 'no leader';
  // The alarms as the running peers have applied them (`?? []`: a status from a server older than alarms).
  const alarms = [...new Set(members.filter((p) => p.state === 'up').flatMap((p) => p.alarms ?? []))].sort();
  const text = `Raft Lab: ${head} · term ${status.term} · ${up}/${members.length} up${alarms.map((a) => ` · ${a} alarm`).join('')}`;
  const noQuorum = !status.quorum.hasQuorum;
  const tone: StatusTone = noQuorum || !leader || alarms.length > 0 ? 'warning' : 'normal';
  const tooltip = [
    `cluster ${status.clusterId}`,
    ...alarms.map((a) => `alarm ${a} raised: ${a === 'NOSPACE' ? 'writes that grow the store are refused (Raft Lab: Disarm Alarms; after a real quota overrun free space first: etcdctl compact, etcdctl defrag)' : 'every write is refused (Raft Lab: Disarm Alarms)'}`),
    noQuorum ? `no quorum: ${status.quorum.failed} of ${status.quorum.members} voters failed (quorum ${status.quorum.quorum})` : `quorum ${status.quorum.quorum} of ${status.quorum.members}; tolerates ${status.quorum.tolerated} failure(s)`,
    ...members.map((p) => `${p.name}: ${peerDescription(p)}`),
    'Click to open the dashboard',
  ].join('\n');
  return { text, tooltip, tone };
}

export function stoppedText(error: string | undefined): StatusBarText {
  return error
    ? { text: 'Raft Lab: stopped (error)', tooltip: `${error}\nClick to open the dashboard`, tone: 'error' }
    : { text: 'Raft Lab: stopped', tooltip: 'No cluster is running. Click to open the dashboard', tone: 'normal' };
}

/** What the Cluster view shows beside a peer's name: `leader · term 7 · up`. */
export function peerDescription(p: PeerView): string {
  const role = p.state === 'down' || p.state === 'removed' ? undefined : roleText(p.role);
  const state = p.state === 'up' ? (p.cutOff ? 'isolated' : 'up') : p.state;
  return [role, `term ${p.term}`, state].filter(Boolean).join(' · ');
}

/** A role as the views write it: `pre-candidate`, not the code's `preCandidate`. */
export function roleText(role: PeerView['role']): string {
  return role === 'preCandidate' ? 'pre-candidate' : role;
}
