// Cheap, exact fingerprints of log entries and a rolling hash of the simulated state machine.
// An entry's fingerprint is its type and its bytes as a string (simulation payloads are short), so two
// different entries never share one. The state machine is a rolling hash over every applied entry, so two
// peers with the same state hash at an index applied the same sequence of entries (up to hash collisions,
// which could only hide a bug, never invent one).
import type { Entry } from '../../src/raft/types.ts';

export function bytesToString(data: Uint8Array): string {
  let s = '';
  for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]!);
  return s;
}

export function stringToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

export function entryFp(e: Entry): string {
  return (e.type === 'normal' ? 'n:' : 'c:') + bytesToString(e.data);
}

/** The state of the simulated application: how far it has applied and a hash of everything it applied. */
export interface AppState {
  applied: number;
  hash: string;
}

export const EMPTY_STATE: AppState = { applied: 0, hash: '0' };

function fnv(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The state after applying entry (index, term, fp) on top of `state`. */
export function nextState(state: AppState, index: number, term: number, fp: string): AppState {
  const piece = `${state.hash}|${index}|${term}|${fp}`;
  const a = fnv(0x811c9dc5, piece);
  const b = fnv(0x2f1a3c5d, piece + '#');
  return { applied: index, hash: a.toString(36) + b.toString(36) };
}

export function encodeState(s: AppState): Uint8Array {
  return stringToBytes(`${s.applied}:${s.hash}`);
}

export function decodeState(data: Uint8Array): AppState {
  const s = bytesToString(data);
  const colon = s.indexOf(':');
  if (colon < 0) throw new Error(`malformed snapshot data ${JSON.stringify(s)}`);
  return { applied: Number(s.slice(0, colon)), hash: s.slice(colon + 1) };
}
