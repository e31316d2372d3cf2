// Whether a value survives a trip through a text editor unchanged. The editor decodes a file as UTF-8 (and reads a
// leading byte order mark as an encoding, not as content): bytes that are not UTF-8 come back as U+FFFD, so
// saving such a value would silently replace them. No `vscode` here.
import { asUtf8 } from './bytes.ts';

export function roundTripsAsText(bytes: Uint8Array): boolean {
  const bom = (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) || (bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe);
  return !bom && asUtf8(bytes) !== undefined;
}
