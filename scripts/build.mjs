// Bundles the extension, the peer worker, the CLI and the dashboard with esbuild.
// Entry points are added here as the layers that need them land.
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

// RAFTLAB_OUT_DIR builds somewhere else than dist/ (the .vsix packaging builds into its own staging folder).
const OUT = process.env.RAFTLAB_OUT_DIR ?? 'dist';

const entries = [
  { in: 'src/extension/extension.ts', out: `${OUT}/extension`, platform: 'node', external: ['vscode'] },
  // What the extension loads only when a cluster starts or a connection opens (manager, control API, etcd3).
  { in: 'src/extension/runtime.ts', out: `${OUT}/extension-runtime`, platform: 'node', plugins: [etcd3Protos()] },
  { in: 'src/node/worker.ts', out: `${OUT}/worker`, platform: 'node' },
  { in: 'src/cli/main.ts', out: `${OUT}/cli`, platform: 'node' },
].filter((e) => existsSync(e.in));

const production = process.argv.includes('--production');

/** The etcd3 client reads its .proto files at run time from `${__dirname}/../proto`; bundled, __dirname is
 *  dist/, so point it at dist/etcd3-proto/ and copy the files there. */
function etcd3Protos() {
  return {
    name: 'etcd3-protos',
    setup(b) {
      b.onLoad({ filter: /etcd3[\\/]lib[\\/]connection-pool\.js$/ }, async (args) => {
        const source = readFileSync(args.path, 'utf8');
        const patched = source.replace('`${__dirname}/../proto/rpc.proto`', "require('path').join(__dirname, 'etcd3-proto', 'rpc.proto')");
        if (patched === source) throw new Error('etcd3-protos: the proto path in connection-pool.js changed; update scripts/build.mjs');
        mkdirSync(`${OUT}/etcd3-proto`, { recursive: true });
        const protoDir = join(dirname(args.path), '..', 'proto');
        for (const f of readdirSync(protoDir)) if (f.endsWith('.proto')) copyFileSync(join(protoDir, f), join(OUT, 'etcd3-proto', f));
        return { contents: patched, loader: 'js' };
      });
    },
  };
}
for (const e of entries) {
  await build({
    entryPoints: [e.in],
    outfile: `${e.out}.js`,
    bundle: true,
    platform: e.platform,
    format: e.platform === 'browser' ? 'iife' : 'cjs',
    target: e.platform === 'browser' ? 'es2022' : 'node20',
    sourcemap: !production,
    minify: production,
    external: [...(e.external ?? []), 'classic-level'],
    logLevel: 'warning',
    plugins: e.plugins ?? [],
  });
}

// The dashboard: one script and one stylesheet (webview/main.ts and the CSS it imports) plus the browser page,
// in dist/dashboard/ — served by `raftlab up` on the control port and loaded by the VS Code webview panel.
if (existsSync('webview/main.ts')) {
  rmSync(`${OUT}/dashboard`, { recursive: true, force: true });
  mkdirSync(`${OUT}/dashboard`, { recursive: true });
  await build({
    entryPoints: { dashboard: 'webview/main.ts' },
    outdir: `${OUT}/dashboard`,
    bundle: true,
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    sourcemap: !production,
    minify: production,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  copyFileSync('webview/index.html', `${OUT}/dashboard/index.html`);
  entries.push({ out: `${OUT}/dashboard` });
}
console.log(`built ${entries.length} bundle(s): ${entries.map((e) => e.out).join(', ') || 'none yet'}`);
