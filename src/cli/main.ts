// The `raftlab` command: `raftlab up` runs a cluster in this process; `raftlab ctl ...` drives a running one
// through its control API.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, UsageError, wantsHelp } from './args.ts';
import { CTL_FLAGS, runCtl } from './ctl.ts';
import { runUp, UP_FLAGS } from './up.ts';

const USAGE = `usage:
  raftlab up [--nodes 3] [--data-dir .raftlab] [--memory] [--port 2379] [--control-port 2378]
             [--timing etcd|fast] [--snapshot-count 100000] [--memory-entries 5000]
             [--quota-backend-bytes <bytes; 0: 2 GiB, -1: none>]
             [--restore <file from etcdctl snapshot save>]
  raftlab ctl [--control ws://127.0.0.1:2378] <command>
    status [--json] | kill <peer> | restart <peer> | pause <peer> | resume <peer> | isolate <peer>
    partition <peers...> [--oneway] | drop <from> <to> <percent> | delay <from> <to> <ms> | heal
    transfer <peer> | add [--learner] | promote <peer> | remove <peer> | put <key> <value> | get <key>
    alarm <list|nospace|corrupt|disarm>   (etcd's alarms: a full disk or a corrupt member, as a fault)
  <peer> is a name like n2, an id, or "leader". Flags go anywhere; \`--\` ends them (for a key or value
  that starts with a dash: raftlab ctl put -- --key value).`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if ((command === 'up' || command === 'ctl') && wantsHelp(rest)) {
    console.log(USAGE);
    return 0;
  }
  switch (command) {
    case 'up':
      return runUp(parseArgs(rest, UP_FLAGS, command), dashboardDir());
    case 'ctl':
      return runCtl(parseArgs(rest, CTL_FLAGS, command));
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`raftlab: unknown command ${JSON.stringify(command)}\n${USAGE}`);
      return 2;
  }
}

/** The dashboard bundle next to this script (dist/dashboard), when it has been built. */
function dashboardDir(): string | undefined {
  const candidates = [join(__dirname, 'dashboard'), join(__dirname, '..', '..', 'dist', 'dashboard')];
  return candidates.find((d) => existsSync(join(d, 'index.html')));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`raftlab: ${(err as Error).message ?? err}`);
    if (err instanceof UsageError) console.error('(`raftlab help` shows the usage)');
    process.exitCode = err instanceof UsageError ? 2 : 1;
  },
);
