// `npm run package`: builds the .vsix (raftlab-<version>.vsix in the repository root) in a staging folder of
// its own, so a build running meanwhile in dist/ cannot mix into it: production bundles, the dashboard,
// media, and classic-level (LevelDB's native binding, external to the bundles) with the packages it needs.
// .vscodeignore decides what of that goes into the .vsix.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const out = resolve(root, process.argv[2] ?? `raftlab-${pkg.version}.vsix`);
const stage = mkdtempSync(join(tmpdir(), 'raftlab-vsix-'));

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

/** A package and everything its dependencies need, from the repository's node_modules. */
function closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  const dir = join(root, 'node_modules', name);
  if (!existsSync(join(dir, 'package.json'))) throw new Error(`node_modules/${name} is missing: run npm ci`);
  seen.add(name);
  const deps = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {};
  for (const d of Object.keys(deps)) closure(d, seen);
  return seen;
}

try {
  run(process.execPath, [join(root, 'scripts/build.mjs'), '--production'], { cwd: root, env: { ...process.env, RAFTLAB_OUT_DIR: join(stage, 'dist') } });
  const classic = JSON.parse(readFileSync(join(root, 'node_modules/classic-level/package.json'), 'utf8'));
  const manifest = { ...pkg, dependencies: { 'classic-level': classic.version }, devDependencies: undefined, scripts: undefined, bin: undefined, allowScripts: undefined };
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const f of ['.vscodeignore', 'media']) cpSync(join(root, f), join(stage, f), { recursive: true });
  cpSync(join(root, 'src/extension/README.md'), join(stage, 'README.md'));
  for (const name of closure('classic-level')) cpSync(join(root, 'node_modules', name), join(stage, 'node_modules', name), { recursive: true });
  const vsce = join(root, 'node_modules/@vscode/vsce/vsce');
  run(process.execPath, [vsce, 'package', '--no-yarn', '--allow-missing-repository', '--skip-license', '--out', out], { cwd: stage });
  console.log(`packaged ${out}`);
} finally {
  rmSync(stage, { recursive: true, force: true });
}
