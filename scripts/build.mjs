// Bundles the extension, the peer worker, the CLI and the dashboard with esbuild.
// Entry points are added here as the layers that need them land.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const entries = [
  { in: 'src/extension/extension.ts', out: 'dist/extension', platform: 'node', external: ['vscode'] },
  { in: 'src/node/worker.ts', out: 'dist/worker', platform: 'node' },
  { in: 'src/cli/main.ts', out: 'dist/cli', platform: 'node' },
  { in: 'webview/main.ts', out: 'dist/webview', platform: 'browser' },
].filter((e) => existsSync(e.in));

const production = process.argv.includes('--production');
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
  });
}
console.log(`built ${entries.length} bundle(s): ${entries.map((e) => e.out).join(', ') || 'none yet'}`);
