// Bounded window of append messages in flight to one follower (etcd's tracker/inflights.go idea):
// the leader stops sending when the window is full and frees slots as acknowledgements arrive.
export class Inflights {
  private readonly lastIndexes: number[] = [];

  constructor(readonly capacity: number) {}

  get count(): number {
    return this.lastIndexes.length;
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  /** Records an append message whose last entry has this index (indexes only grow). */
  add(lastIndex: number): void {
    this.lastIndexes.push(lastIndex);
  }

  /** Frees every message whose last entry is at or below `index`: the follower has it. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && this.lastIndexes[n]! <= index) n++;
    if (n > 0) this.lastIndexes.splice(0, n);
  }

  freeFirst(): void {
    this.lastIndexes.shift();
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}
