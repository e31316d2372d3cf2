// Generates KV histories that are linearizable by construction, for testing the checker: every operation gets a
// linearization point inside its [call, return] interval, the operations are executed one at a time in that
// order on a simple reference store (with etcd's revision numbering), and each records the output it got there.
// Some operations time out (return = Infinity); of those, some took effect and some never did.
import type { KvInput, KvOperation, KvOutput } from './kv-model.ts';

export interface GenerateOptions {
  seed: number;
  operations: number;
  clients: number;
  keys: number;
  /** Probability that an operation's outcome is unknown. Default 0. */
  unknownRate?: number;
  /** Probability that an operation is a prefix range. Default 0. */
  rangeRate?: number;
  /** Maximum latency of an operation, in time units. Default 10. */
  maxLatency?: number;
}

/** A small deterministic PRNG (mulberry32), so that tests are reproducible. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function keyName(i: number): string {
  return `k${String(i).padStart(2, '0')}`;
}

/** Applies one input to a reference store, returning the output etcd would give (with header revision). */
export function applyReference(store: Map<string, string>, rev: { value: number }, input: KvInput): KvOutput {
  switch (input.type) {
    case 'put':
      store.set(input.key, input.value);
      return { type: 'put', revision: ++rev.value };
    case 'get':
      return { type: 'get', value: store.get(input.key) ?? null, revision: rev.value };
    case 'delete': {
      const had = store.delete(input.key);
      return { type: 'delete', deleted: had ? 1 : 0, revision: had ? ++rev.value : rev.value };
    }
    case 'cas': {
      if ((store.get(input.key) ?? null) !== input.expected) return { type: 'cas', succeeded: false, revision: rev.value };
      store.set(input.key, input.value);
      return { type: 'cas', succeeded: true, revision: ++rev.value };
    }
    case 'range': {
      const kvs: [string, string][] = [...store].filter(([k]) => k.startsWith(input.prefix));
      return { type: 'range', kvs, revision: rev.value };
    }
  }
}

export function generateKvHistory(options: GenerateOptions): KvOperation[] {
  const rnd = prng(options.seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const unknownRate = options.unknownRate ?? 0;
  const rangeRate = options.rangeRate ?? 0;
  const maxLatency = options.maxLatency ?? 10;
  const clock = new Array<number>(options.clients).fill(0);
  const written: string[][] = Array.from({ length: options.keys }, () => []);
  const planned: { op: KvOperation; at: number; happens: boolean }[] = [];
  for (let n = 0; n < options.operations; n++) {
    const client = int(options.clients);
    const k = int(options.keys);
    const key = keyName(k);
    const value = `v${n}`;
    let input: KvInput;
    const r = rnd();
    if (r < rangeRate) {
      const choice = int(3);
      input = { type: 'range', prefix: choice === 0 ? '' : choice === 1 ? 'k0' : key };
    } else {
      const x = rnd();
      if (x < 0.3) input = { type: 'put', key, value };
      else if (x < 0.65) input = { type: 'get', key };
      else if (x < 0.75) input = { type: 'delete', key };
      else {
        const w = written[k]!;
        const expected = w.length === 0 || rnd() < 0.2 ? null : w[Math.max(0, w.length - 1 - int(3))]!;
        input = { type: 'cas', key, expected, value };
      }
    }
    if (input.type === 'put' || input.type === 'cas') written[k]!.push(value);
    const call = clock[client]! + int(3);
    const ret = call + 1 + int(maxLatency);
    const at = call + rnd() * (ret - call);
    clock[client] = ret;
    const unknown = rnd() < unknownRate;
    const op: KvOperation = { clientId: client, input, call, return: unknown ? Infinity : ret };
    planned.push({ op, at, happens: !unknown || rnd() < 0.5 });
  }
  const store = new Map<string, string>();
  const rev = { value: 1 };
  for (const p of planned.slice().sort((a, b) => a.at - b.at)) {
    if (!p.happens) continue;
    const output = applyReference(store, rev, p.op.input);
    if (p.op.return !== Infinity) p.op.output = output;
  }
  return planned.map((p) => p.op);
}
