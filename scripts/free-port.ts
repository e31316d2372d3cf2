// Free TCP ports on 127.0.0.1, for tests, the benchmark and the crash loop. A port is released again at once,
// so a later bind can still lose a race — callers bind soon after.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A free port the OS picks (from its ephemeral range). */
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

export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/** The lowest port the kernel hands out to outgoing connections (Linux; 32768 elsewhere). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 11_000 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/**
 * A base port with `count` free consecutive ports after it (Raft Lab's peers use base, base+1, …; more as peers
 * are added). Random, so parallel test files rarely collide, and below the ephemeral range, so the local end of
 * some client's connection cannot take one of them between this check and the bind.
 */
export async function freePortRange(count: number): Promise<number> {
  const high = ephemeralLow() - count - 8; // room for peers added later
  for (let attempt = 0; attempt < 100; attempt++) {
    const base = 10_000 + Math.floor(Math.random() * (high - 10_000));
    const free = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
