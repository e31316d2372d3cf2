// A free TCP port on 127.0.0.1, for tests, the benchmark and the crash loop (the OS picks it; it is released
// again at once, so a later bind can still lose a race — callers bind soon after).
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
