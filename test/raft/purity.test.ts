// The Raft core is a pure state machine: no Node built-ins, no vscode, no timers, clocks, ambient randomness
// or process access. Scans every source file under src/raft/ (comments and string contents removed first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', 'src', 'raft');

/** The code with comments blanked out and string/template contents emptied (so that docs may say "Date"). */
export function codeOnly(src: string): { code: string; specifiers: string[] } {
  let code = '';
  const specifiers: string[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      i += 2;
      while (i < src.length && !(src[i] === '*' && src[i + 1] === '/')) i++;
      i += 2;
    } else if (c === '"' || c === "'" || c === '`') {
      let s = '';
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\') {
          s += src[i + 1];
          i += 2;
          continue;
        }
        if (c === '`' && src[i] === '$' && src[i + 1] === '{') {
          // Keep template expressions as code.
          let depth = 0;
          i += 2;
          code += c + '${';
          while (i < src.length && !(src[i] === '}' && depth === 0)) {
            if (src[i] === '{') depth++;
            if (src[i] === '}') depth--;
            code += src[i];
            i++;
          }
          code += '}';
          i++;
          continue;
        }
        s += src[i];
        i++;
      }
      i++;
      specifiers.push(s);
      code += c + c;
    } else {
      code += c;
      i++;
    }
  }
  return { code, specifiers };
}

const FORBIDDEN: [RegExp, string][] = [
  [/\bsetTimeout\b/, 'setTimeout'],
  [/\bsetInterval\b/, 'setInterval'],
  [/\bsetImmediate\b/, 'setImmediate'],
  [/\bqueueMicrotask\b/, 'queueMicrotask'],
  [/\bDate\b/, 'Date'],
  [/\bperformance\b/, 'performance'],
  [/\bMath\s*\.\s*random\b/, 'Math.random'],
  [/\bprocess\b/, 'process'],
  [/\brequire\s*\(/, 'require('],
  [/\bimport\s*\(/, 'dynamic import('],
  [/\bglobalThis\b/, 'globalThis'],
  [/\bcrypto\b/, 'crypto'],
];

/** Problems in one source file: forbidden names in code, and imports that are not relative to src/raft. */
export function impurities(src: string): string[] {
  const problems: string[] = [];
  const { code } = codeOnly(src);
  for (const [re, name] of FORBIDDEN) if (re.test(code)) problems.push(`uses ${name}`);
  const importRe = /\b(?:import|export)\s+(?:type\s+)?(?:[^'"`;]*?\s+from\s+)?(['"])([^'"]+)\1/g;
  for (const m of src.matchAll(importRe)) {
    const spec = m[2]!;
    if (!spec.startsWith('./')) problems.push(`imports ${spec}`);
  }
  return problems;
}

test('the purity scan itself catches what it should (and ignores comments and strings)', () => {
  assert.deepEqual(impurities(`// no Date, no Math.random, setTimeout\nconst s = 'process Date';\nimport { a } from './a.ts';`), []);
  assert.deepEqual(impurities(`const t = Date.now();`), ['uses Date']);
  assert.deepEqual(impurities(`setTimeout(() => 1, 5);`), ['uses setTimeout']);
  assert.deepEqual(impurities(`const x = Math.random();`), ['uses Math.random']);
  assert.deepEqual(impurities('const x = `${process.pid}`;'), ['uses process']);
  assert.deepEqual(impurities(`const fs = require('fs');`), ['uses require(']);
  assert.deepEqual(impurities(`import { readFileSync } from 'node:fs';`), ['imports node:fs']);
  assert.deepEqual(impurities(`import * as vscode from 'vscode';`), ['imports vscode']);
  assert.deepEqual(impurities(`export { x } from '../kv/x.ts';`), ['imports ../kv/x.ts']);
  assert.deepEqual(impurities(`import type { T } from 'node:worker_threads';`), ['imports node:worker_threads']);
  assert.deepEqual(impurities(`performance.now()`), ['uses performance']);
  assert.deepEqual(impurities(`const upToDate = isUpToDate(); const processed = 1;`), []);
});

test('src/raft has no I/O, vscode, timers, clocks or ambient randomness', () => {
  const files = readdirSync(ROOT).filter((f) => f.endsWith('.ts'));
  assert.ok(files.includes('raft-node.ts'), 'the core is there');
  const found: string[] = [];
  for (const f of files) for (const p of impurities(readFileSync(join(ROOT, f), 'utf8'))) found.push(`${f}: ${p}`);
  assert.deepEqual(found, []);
});
