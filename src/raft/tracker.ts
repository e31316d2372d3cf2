// Who is in the configuration, what the leader knows of each one's log, and the votes of an election (the role
// of etcd-io/raft's tracker.ProgressTracker). The majority arithmetic over the voters lives here, so that the
// node asks questions — what index does a quorum have, did we win, is a quorum still talking to us — instead of
// counting.
import { Progress } from './progress.ts';
import { committedIndex, quorumSize, voteResult, type VoteResult } from './quorum.ts';
import { NONE, type ConfState, type NodeId } from './types.ts';

export class ProgressTracker {
  readonly voters = new Set<NodeId>();
  readonly learners = new Set<NodeId>();
  /** Every member's progress, voters and learners (the leader's own included). */
  readonly progress = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();

  constructor(private readonly maxInflight: number) {}

  /** Takes on a membership: members new to it start probing from `next`; members no longer in it are forgotten. */
  setConf(conf: ConfState, next: number): void {
    this.voters.clear();
    this.learners.clear();
    for (const id of conf.voters) this.voters.add(id);
    for (const id of conf.learners) this.learners.add(id);
    for (const id of [...this.progress.keys()]) if (!this.voters.has(id) && !this.learners.has(id)) this.progress.delete(id);
    for (const id of [...conf.voters, ...conf.learners]) {
      const isLearner = this.learners.has(id);
      const pr = this.progress.get(id);
      if (pr) pr.isLearner = isLearner;
      else this.progress.set(id, new Progress(next, this.maxInflight, isLearner));
    }
  }

  confState(): ConfState {
    return { voters: [...this.voters].sort((a, b) => a - b), learners: [...this.learners].sort((a, b) => a - b) };
  }

  /** A new term: everyone's progress starts over, probing from `next`; `self` already has `selfMatch` on disk. */
  resetProgress(next: number, self: NodeId, selfMatch: number): void {
    for (const [id, pr] of this.progress) {
      const fresh = new Progress(next, this.maxInflight, pr.isLearner);
      if (id === self) fresh.match = selfMatch;
      this.progress.set(id, fresh);
    }
  }

  /** The highest index a quorum of voters has on disk (the commit candidate). */
  committed(): number {
    return committedIndex(this.voters, (id) => this.progress.get(id)?.match ?? 0);
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Counts a voter's answer (only its first one in an election) and says where the election stands. */
  recordVote(id: NodeId, granted: boolean): VoteResult {
    if (!this.votes.has(id)) this.votes.set(id, granted);
    return voteResult(this.voters, this.votes);
  }

  /** Whether these members make a quorum of the voters (those that are not voters do not count). */
  isQuorum(ids: Iterable<NodeId>): boolean {
    let voted = 0;
    for (const id of ids) if (this.voters.has(id)) voted++;
    return voted >= quorumSize(this.voters.size);
  }

  /** CheckQuorum: whether a quorum of voters has been heard from since the last round (`self` always counts). */
  quorumActive(self: NodeId): boolean {
    let active = 0;
    for (const id of this.voters) if (id === self || this.progress.get(id)?.recentActive) active++;
    return active >= quorumSize(this.voters.size);
  }

  /** The lowest next index of the members other than `self` (Infinity when there are none). */
  lowestNext(self: NodeId): number {
    let lowest = Infinity;
    for (const [id, pr] of this.progress) if (id !== self && pr.next < lowest) lowest = pr.next;
    return lowest;
  }

  /** The voter with the longest log on disk, the lowest id among equals (NONE when there are no voters). */
  mostUpToDateVoter(): NodeId {
    let best: NodeId = NONE;
    let bestMatch = -1;
    for (const id of [...this.voters].sort((a, b) => a - b)) {
      const match = this.progress.get(id)?.match ?? 0;
      if (match > bestMatch) {
        best = id;
        bestMatch = match;
      }
    }
    return best;
  }
}
