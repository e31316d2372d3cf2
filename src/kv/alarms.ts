// The cluster's alarms, as etcd keeps them (etcdserver/api/v3alarm): a set of (member, alarm type) raised and
// cleared through the log, so every peer holds the same set. While one is raised the state machine refuses what
// etcd's applier refuses then: NOSPACE (a member went over its space quota) stops whatever would grow the store,
// CORRUPT (a member's data differs from the others') stops every write.
import type { AlarmAction, AlarmMember, AlarmType } from './types.ts';

/** etcd's enums, in their proto order (the log entry and snapshot encodings use these indexes). */
export const ALARM_TYPES = ['NONE', 'NOSPACE', 'CORRUPT'] as const satisfies readonly AlarmType[];
export const ALARM_ACTIONS = ['GET', 'ACTIVATE', 'DEACTIVATE'] as const satisfies readonly AlarmAction[];

export class AlarmTable {
  /** Raised alarms by type, then member id: kept sorted, so that lists, snapshots and hashes are canonical. */
  private readonly raised = new Map<AlarmType, Set<bigint>>();

  /** Raises an alarm; returns it (also when it was already raised), or undefined for NONE, as etcd does. */
  activate(memberID: bigint, alarm: AlarmType): AlarmMember | undefined {
    if (alarm === 'NONE') return undefined;
    let members = this.raised.get(alarm);
    if (!members) this.raised.set(alarm, (members = new Set()));
    members.add(memberID);
    return { memberID, alarm };
  }

  /** Clears an alarm; returns it, or undefined if it was not raised. */
  deactivate(memberID: bigint, alarm: AlarmType): AlarmMember | undefined {
    const members = this.raised.get(alarm);
    if (!members?.delete(memberID)) return undefined;
    if (members.size === 0) this.raised.delete(alarm);
    return { memberID, alarm };
  }

  /** The raised alarms of one type, or of every type for NONE: by type, then member id. */
  list(alarm: AlarmType = 'NONE'): AlarmMember[] {
    const out: AlarmMember[] = [];
    for (const type of ALARM_TYPES) {
      if (alarm !== 'NONE' && type !== alarm) continue;
      const members = [...(this.raised.get(type) ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (const memberID of members) out.push({ memberID, alarm: type });
    }
    return out;
  }

  has(alarm: AlarmType): boolean {
    return this.raised.has(alarm);
  }

  /** No alarm raised (checked for every applied entry: no iteration). */
  get isEmpty(): boolean {
    return this.raised.size === 0; // a type whose last alarm is cleared leaves the map
  }
}
