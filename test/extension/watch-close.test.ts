// Closing a watch, or the whole key client, while a client swap is creating the watch again on the new client:
// nothing reaches the closed watch afterwards and no watcher is left behind. A watcher left on a closed client
// retries forever, which kept the extension host busy and kept test processes from exiting (the membership test
// hung after a failure). Each case runs in a child process (watch-close-child.ts) that must exit by itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const CHILD = join(__dirname, 'watch-close-child.ts');
/** How long the child may take to exit once it has stopped everything (it exits at once when nothing is left). */
const EXIT_AFTER_STOP_MS = 10_000;
/** The whole child, on a loaded machine (it needs about four seconds). */
const CHILD_TIMEOUT_MS = 60_000;

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Why it was killed, if it was. */
  killed?: string;
}

function runChild(mode: string): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed: string | undefined;
    const kill = (why: string) => {
      killed = why;
      child.kill('SIGKILL');
    };
    const overall = setTimeout(() => kill(`still running after ${CHILD_TIMEOUT_MS / 1000} s`), CHILD_TIMEOUT_MS);
    let afterStop: ReturnType<typeof setTimeout> | undefined;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!afterStop && stdout.includes('stopped')) afterStop = setTimeout(() => kill(`still running ${EXIT_AFTER_STOP_MS / 1000} s after it stopped everything: something was left behind`), EXIT_AFTER_STOP_MS);
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(overall);
      if (afterStop) clearTimeout(afterStop);
      resolve({ code, stdout, stderr, ...(killed ? { killed } : {}) });
    });
  });
}

for (const [mode, what] of [
  ['handle', 'the watch is closed'],
  ['source', 'the key client is closed'],
] as const) {
  test(`${what} while a client swap re-creates it: no events after, and the process exits`, { timeout: CHILD_TIMEOUT_MS + 10_000 }, async () => {
    const r = await runChild(mode);
    const report = `exit ${r.code}${r.killed ? ` (killed: ${r.killed})` : ''}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr.slice(-3000)}`;
    const result = r.stdout.split('\n').find((l) => l.startsWith('{'));
    assert.ok(result, `the child printed no result: ${report}`);
    assert.equal(JSON.parse(result).afterClose, 0, `events reached the closed watch: ${report}`);
    assert.ok(r.stdout.includes('stopped'), `the child did not stop its cluster: ${report}`);
    assert.equal(r.killed, undefined, report);
    assert.equal(r.code, 0, report);
  });
}
