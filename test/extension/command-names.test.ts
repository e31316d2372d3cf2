// Text that tells the user to run a "Raft Lab: …" command names one that exists (package.json's contributes).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { contributes: { commands: { title: string; category?: string }[] } };
const titles = new Set(pkg.contributes.commands.map((c) => `${c.category}: ${c.title}`));

test('the dashboard, the extension and its README name only commands that exist', () => {
  for (const file of ['webview/app.ts', 'src/extension/session.ts', 'src/extension/commands.ts', 'src/extension/README.md']) {
    const named = [...readFileSync(file, 'utf8').matchAll(/Raft Lab: ([A-Z][\w ]*\w)/g)].map((m) => `Raft Lab: ${m[1]}`);
    for (const name of named) {
      // Messages like "Raft Lab: n2 leader" or "Raft Lab: cluster started" are not command names.
      if (!/^Raft Lab: (Start|Stop|Open|Connect|Add|Remove|Kill|Restart|Reset)\b/.test(name)) continue;
      assert.ok([...titles].some((t) => name === t || name.startsWith(`${t} `) || t.startsWith(name)), `${file} names "${name}", which is no command`);
    }
  }
});
