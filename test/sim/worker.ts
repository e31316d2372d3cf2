// A worker process of pool.ts: runs the batch it is sent and sends the totals back.
import { runBatch, type Batch } from './pool.ts';

process.once('message', (b) => {
  const totals = runBatch(b as Batch);
  process.send!(totals, () => process.exit(0));
});
