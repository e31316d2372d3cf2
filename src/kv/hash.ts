// A fast, deterministic 64-bit digest for comparing peers' stores in simulations (not cryptographic):
// two independent 32-bit FNV-1a lanes over the same bytes, printed as 16 hex digits.

export function digest64(data: Uint8Array): string {
  let low = 0x811c9dc5;
  let high = 0x050c5d1f;
  for (let i = 0; i < data.length; i++) {
    const byte = data[i]!;
    low = Math.imul(low ^ byte, 0x01000193);
    high = Math.imul(high ^ byte ^ (i & 0xff), 0x01000193);
  }
  return (high >>> 0).toString(16).padStart(8, '0') + (low >>> 0).toString(16).padStart(8, '0');
}
