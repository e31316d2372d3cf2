// How a key (any bytes) and an optional past revision travel in a `raftlab:` URI: the path is the key shown as
// text (so the editor's title and language-by-extension work), the query carries the exact bytes in hex.
// No `vscode` here: the FileSystemProvider builds a vscode.Uri from these parts.
import { displayBytes, fromHex, toBytes, toHex } from './bytes.ts';

export const SCHEME = 'raftlab';

export interface KeyUriParts {
  /** Which connection: 'local' or 'etcd'. */
  authority: string;
  path: string;
  query: string;
}

export function keyToUriParts(authority: string, key: Uint8Array, revision?: number): KeyUriParts {
  const shown = displayBytes(key).replace(/^\/+/, '');
  const path = `/${shown.length > 0 ? shown : '(empty)'}`;
  const query = `k=${toHex(key)}${revision ? `&rev=${revision}` : ''}`;
  return { authority, path, query };
}

/** The key and revision a URI names; the query wins, a path without one is read as the key's text. */
export function uriPartsToKey(parts: { path: string; query: string }): { key: Uint8Array; revision?: number } {
  const params = new URLSearchParams(parts.query);
  const hex = params.get('k');
  const key = hex !== null ? fromHex(hex) : toBytes(parts.path.replace(/^\//, ''));
  if (!key || key.length === 0) throw new Error(`not a Raft Lab key URI: ${parts.path}?${parts.query}`);
  const rev = params.get('rev');
  const revision = rev !== null && /^\d+$/.test(rev) ? Number(rev) : undefined;
  return revision ? { key, revision } : { key };
}
