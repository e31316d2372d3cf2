// Durability: `raftlab up` SIGKILLed at random moments under a write load loses no acknowledged write.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCrashRounds } from '../../scripts/crashloop.ts';

test('20 rounds of SIGKILL under load lose no acknowledged write', async () => {
  const result = await runCrashRounds(20, (line) => console.log(line));
  assert.ok(result.acked > 100, `the load acknowledged writes (${result.acked})`);
  assert.equal(result.lost, 0);
});
