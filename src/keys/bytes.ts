// Keys and values are bytes. This file turns them into text that is safe to show (escaped where not printable
// UTF-8), into hex, and back, and computes the range ends etcd uses for prefixes. No `vscode` here.

const utf8 = new TextDecoder('utf-8', { fatal: true });
const encoder = new TextEncoder();

export function toBytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The bytes as UTF-8 text, or undefined when they are not valid UTF-8. */
export function asUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hex (even length, 0-9a-f); undefined for anything else. */
export function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

// Byte order, equality and prefix range ends are the store's own (one definition for the whole project).
export { bytesEqual as equalBytes, compareBytes, prefixRangeEnd as prefixEnd } from '../kv/bytes.ts';

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (prefix.length > bytes.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** The smallest key after `key`: key + 0x00. */
export function keyAfter(key: Uint8Array): Uint8Array {
  return concatBytes(key, new Uint8Array([0]));
}

/** Printable text for a key: UTF-8 with control characters escaped; bytes that are not UTF-8 as \xNN. */
export function displayBytes(bytes: Uint8Array): string {
  const text = asUtf8(bytes);
  if (text !== undefined) return escapeControls(text);
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    // Decode the longest valid UTF-8 run we can, escape the byte that breaks it.
    const len = utf8SequenceLength(bytes, i);
    if (len > 0) {
      out += escapeControls(utf8.decode(bytes.subarray(i, i + len)));
      i += len;
    } else {
      out += `\\x${bytes[i]!.toString(16).padStart(2, '0')}`;
      i += 1;
    }
  }
  return out;
}

/** Whether `displayBytes` shows the bytes exactly as they are (plain printable UTF-8, no backslashes). */
export function isPlainText(bytes: Uint8Array): boolean {
  const text = asUtf8(bytes);
  return text !== undefined && escapeControls(text) === text && !text.includes('\\');
}

function escapeControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\\]/g, (c) => {
    switch (c) {
      case '\\':
        return '\\\\';
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = c.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}

/** Length of the valid UTF-8 sequence starting at i, or 0. */
function utf8SequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i]!;
  const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
  if (n === 0 || i + n > bytes.length) return 0;
  try {
    utf8.decode(bytes.subarray(i, i + n));
    return n;
  } catch {
    return 0;
  }
}

/** Parses what a user typed for a key: plain text, or `\xNN`-escaped bytes (as displayBytes shows them). */
export function parseKeyInput(input: string): Uint8Array {
  if (!input.includes('\\')) return toBytes(input);
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      const n = input[i + 1]!;
      if (n === 'x' && /^[0-9a-fA-F]{2}$/.test(input.slice(i + 2, i + 4))) {
        out.push(parseInt(input.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
      const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92 };
      if (simple[n] !== undefined) {
        out.push(simple[n]);
        i += 1;
        continue;
      }
    }
    out.push(...toBytes(c));
  }
  return new Uint8Array(out);
}

/** A short one-line preview of a value for a tooltip: text (escaped) or hex. */
export function previewValue(bytes: Uint8Array, max = 200): string {
  const text = asUtf8(bytes);
  if (text !== undefined && !hasBinaryControls(text)) {
    const shown = escapeControls(text.length > max ? text.slice(0, max) : text);
    return text.length > max ? `${shown}…` : shown;
  }
  const hex = toHex(bytes.subarray(0, Math.ceil(max / 2)));
  return `hex ${hex}${bytes.length > max / 2 ? '…' : ''} (${bytes.length} bytes)`;
}

/** Text with control characters other than tab/newline/CR (or NUL) reads as binary. */
function hasBinaryControls(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(text);
}

export function isBinaryValue(bytes: Uint8Array): boolean {
  const text = asUtf8(bytes);
  return text === undefined || hasBinaryControls(text);
}

/** The editor language for a value: JSON, YAML or plain text, from the content. */
export function guessLanguage(bytes: Uint8Array): 'json' | 'yaml' | 'plaintext' {
  if (isBinaryValue(bytes)) return 'plaintext';
  const text = asUtf8(bytes)!.trim();
  if (text.length === 0) return 'plaintext';
  if ((text.startsWith('{') && text.endsWith('}')) || (text.startsWith('[') && text.endsWith(']'))) {
    try {
      JSON.parse(text);
      return 'json';
    } catch {
      /* not JSON */
    }
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (text.startsWith('---')) return 'yaml';
  const yamlLine = /^(\s*-\s+\S|\s*[A-Za-z_][\w.-]*\s*:(\s|$))/;
  if (lines.length >= 2 && lines.every((l) => yamlLine.test(l) || /^\s+\S/.test(l))) return 'yaml';
  return 'plaintext';
}
