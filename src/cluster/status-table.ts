// Renders the cluster status as a plain-text table (for `raftlab up` and `raftlab ctl status`).
import type { ClusterStatus } from './status.ts';

export function renderStatusTable(status: ClusterStatus): string {
  // The ALARMS column only while some peer reports one (etcd's NOSPACE or CORRUPT).
  const alarms = status.peers.some((p) => (p.alarms ?? []).length > 0); // ?? []: a server older than alarms
  const header = ['PEER', 'STATE', 'ROLE', 'TERM', 'VOTE', 'LEADER', 'COMMIT', 'APPLIED', 'LAST', 'SNAP', 'REV', 'PORT', ...(alarms ? ['ALARMS'] : [])];
  const name = (id: number) => status.peers.find((p) => p.id === id)?.name ?? (id ? `#${id}` : '-');
  const rows = status.peers.map((p) => [
    p.name,
    p.cutOff && p.state === 'up' ? 'cut-off' : p.state,
    p.state === 'up' || p.state === 'paused' ? p.role : '-',
    String(p.term),
    p.vote ? name(p.vote) : '-',
    p.leader ? name(p.leader) : '-',
    String(p.commit),
    String(p.applied),
    String(p.lastIndex),
    String(p.snapshotIndex),
    String(p.revision),
    p.clientPort ? String(p.clientPort) : '-',
    ...(alarms ? [(p.alarms ?? []).join(' ') || '-'] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const q = status.quorum;
  const summary =
    `leader ${status.leader ? name(status.leader) : 'none'} · term ${status.term} · ` +
    `${q.members - q.failed}/${q.members} voters up · quorum ${q.quorum} (tolerates ${q.tolerated})` +
    (q.hasQuorum ? '' : ' · NO QUORUM');
  return [line(header), ...rows.map(line), summary].join('\n');
}
