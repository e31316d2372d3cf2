// A small argument parser: positional words and --flags, checked against the flags the command knows, so a
// typo (`--node 5`) or a misplaced flag is an error rather than silently ignored. `--` ends the flags: every
// word after it is positional (a value may start with dashes).

export interface Args {
  positional: string[];
  flags: Map<string, string | true>;
}

/** The flags a command takes: ones followed by a value, and switches. */
export interface FlagSpec {
  values: readonly string[];
  switches: readonly string[];
}

export class UsageError extends Error {}

/** True when the words ask for help (`--help` or `-h` before any `--`), whatever else they hold. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const word of argv) {
    if (word === '--') return false;
    if (word === '--help' || word === '-h') return true;
  }
  return false;
}

export function parseArgs(argv: readonly string[], spec: FlagSpec, command: string): Args {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!word.startsWith('--')) {
      positional.push(word);
      continue;
    }
    const eq = word.indexOf('=');
    const name = word.slice(2, eq > 0 ? eq : undefined);
    if (flags.has(name)) throw new UsageError(`--${name} is given twice`);
    if (spec.switches.includes(name)) {
      if (eq > 0) throw new UsageError(`--${name} takes no value`);
      flags.set(name, true);
    } else if (spec.values.includes(name)) {
      const value = eq > 0 ? word.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else {
      const known = [...spec.values, ...spec.switches].map((f) => `--${f}`).join(', ');
      throw new UsageError(`raftlab ${command} has no flag --${name} (it takes ${known})`);
    }
  }
  return { positional, flags };
}

export function stringFlag(args: Args, name: string, fallback: string): string {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v ?? fallback;
}

export function intFlag(args: Args, name: string, fallback: number, min: number, max: number): number {
  const raw = args.flags.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (raw === true || raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}
