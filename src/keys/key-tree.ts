// The Keys view's model: keys shown as a tree by a separator, loaded lazily per prefix through ranges with
// limits, a page at a time ("Load more…"), and kept live by watch events (which prefixes to reload).
// The VS Code tree provider (src/extension/keys-view.ts) only renders what this hands it. No `vscode` here.
import { compareBytes, displayBytes, keyAfter, prefixEnd, startsWith, toBytes, toHex } from './bytes.ts';
import type { KeyValue, KvSource, WatchEvent } from './kv-source.ts';

export type ChildEntry =
  /** Every key under `prefix` (which ends with the separator) shows as one folder. */
  | { kind: 'folder'; prefix: Uint8Array }
  | { kind: 'key'; kv: KeyValue };

export interface ChildPage {
  children: ChildEntry[];
  /** Where the next page starts; absent when this was the last. */
  next?: Uint8Array;
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The folder a key falls in below `parent`: parent + the next segment + separator, or undefined for a
 *  direct child. A segment is never empty: a separator right after the parent belongs to the segment
 *  (so "/app/x" at the top is the folder "/app/", not "/" then "app/"). */
export function folderOf(key: Uint8Array, parent: Uint8Array, separator: Uint8Array): Uint8Array | undefined {
  if (separator.length === 0) return undefined;
  const at = indexOf(key, separator, parent.length + 1);
  return at < 0 ? undefined : key.slice(0, at + separator.length);
}

/**
 * One page of the children of `parent`: at most `limit` folders and keys, in key order. Keys inside a folder
 * are collapsed into it and skipped with a jump to the folder's range end, so a folder with millions of keys
 * costs one short range, not a scan.
 */
export async function listChildren(
  source: KvSource,
  parent: Uint8Array,
  separator: Uint8Array,
  opts: { start?: Uint8Array; limit: number },
): Promise<ChildPage> {
  const limit = Math.max(1, Math.floor(opts.limit));
  const end = parent.length > 0 ? prefixEnd(parent) : new Uint8Array([0]);
  let cursor: Uint8Array = opts.start ?? (parent.length > 0 ? parent : new Uint8Array([0]));
  const children: ChildEntry[] = [];
  let lastFolder: Uint8Array | undefined;
  for (;;) {
    const want = limit - children.length;
    const res = await source.range({ key: cursor, rangeEnd: end, limit: want, keysOnly: true });
    for (const kv of res.kvs) {
      const folder = folderOf(kv.key, parent, separator);
      if (folder && lastFolder && compareBytes(folder, lastFolder) === 0) continue;
      if (children.length === limit) return { children, next: kv.key };
      if (folder) {
        children.push({ kind: 'folder', prefix: folder });
        lastFolder = folder;
      } else {
        children.push({ kind: 'key', kv });
      }
    }
    const last = res.kvs[res.kvs.length - 1];
    if (!res.more || !last) return { children };
    if (lastFolder && startsWith(last.key, lastFolder)) {
      const after = prefixEnd(lastFolder);
      if (after.length === 1 && after[0] === 0) return { children }; // the folder runs to the end of the keyspace
      cursor = after;
    } else {
      cursor = keyAfter(last.key);
    }
    if (children.length === limit) {
      // Full: is anything left? One key tells.
      const peek = await source.range({ key: cursor, rangeEnd: end, limit: 1, keysOnly: true });
      return peek.kvs.length > 0 ? { children, next: cursor } : { children };
    }
  }
}

export interface FolderNode {
  kind: 'folder';
  id: string;
  prefix: Uint8Array;
  label: string;
  parent: FolderNode | undefined;
}

export interface KeyNode {
  kind: 'key';
  id: string;
  kv: KeyValue;
  label: string;
  parent: FolderNode | undefined;
  /** Seconds left on the key's lease when it was loaded (undefined: no lease or unknown). */
  ttl?: number;
}

export interface MoreNode {
  kind: 'more';
  id: string;
  /** The folder whose next page it loads; undefined at the top. */
  parent: FolderNode | undefined;
  loaded: number;
}

export type TreeNode = FolderNode | KeyNode | MoreNode;

interface Loaded {
  nodes: (FolderNode | KeyNode)[];
  next: Uint8Array | undefined;
}

export interface KeyTreeOptions {
  separator: string;
  pageSize: number;
  /** Only keys starting with this show (the filter); empty for all. */
  root?: Uint8Array;
}

export class KeyTreeModel {
  readonly separator: Uint8Array;
  readonly pageSize: number;
  readonly root: Uint8Array;
  private readonly loaded = new Map<string, Loaded>();
  private readonly loading = new Map<string, Promise<Loaded>>();
  private readonly folders = new Map<string, FolderNode>();
  /** How many children a folder shows: a page, and another for each "Load more…"; kept across reloads. */
  private readonly wanted = new Map<string, number>();
  /**
   * Bumped whenever a folder's loaded children go stale (a watch event, Load more, a reset). A load that started
   * before a bump is not kept: it could miss the change, or show fewer children than were asked for since.
   */
  private readonly generation = new Map<string, number>();

  constructor(
    private readonly source: KvSource,
    options: KeyTreeOptions,
  ) {
    this.separator = toBytes(options.separator);
    this.pageSize = Math.min(10_000, Math.max(1, Math.floor(options.pageSize) || 100));
    this.root = options.root ?? new Uint8Array(0);
  }

  /** The children to show under `folder` (the top when undefined), loading them if needed. */
  async children(folder?: FolderNode): Promise<TreeNode[]> {
    const prefix = folder?.prefix ?? this.root;
    const hex = toHex(prefix);
    let state = this.loaded.get(hex);
    if (!state) {
      let pending = this.loading.get(hex);
      if (!pending) {
        const started = this.load(folder, hex).finally(() => {
          if (this.loading.get(hex) === started) this.loading.delete(hex);
        });
        this.loading.set(hex, (pending = started));
      }
      // A load overtaken by a change is answered all the same, not retried: whoever made the change reloads the
      // folder again (the view refreshes it), and retrying here starved the caller while a writer kept changing it.
      state = await pending;
    }
    const out: TreeNode[] = [...state.nodes];
    if (state.next) out.push({ kind: 'more', id: `more:${hex}`, parent: folder, loaded: state.nodes.length });
    return out;
  }

  /** Shows another page under the folder the "Load more…" node belongs to (whatever reloads meanwhile). */
  async loadMore(more: MoreNode): Promise<void> {
    const hex = toHex(more.parent?.prefix ?? this.root);
    const shown = Math.max(more.loaded, this.loaded.get(hex)?.nodes.length ?? 0, this.wanted.get(hex) ?? this.pageSize);
    this.wanted.set(hex, shown + this.pageSize);
    this.invalidate(hex);
    await this.children(more.parent);
  }

  /** Whether the folder's children have been loaded (it was expanded). */
  isLoaded(prefix: Uint8Array): boolean {
    return this.loaded.has(toHex(prefix));
  }

  /** The folder node shown for a prefix, if any (the same object the tree has). */
  folder(prefix: Uint8Array): FolderNode | undefined {
    return this.folders.get(toHex(prefix));
  }

  /** Forgets everything loaded (a full refresh), back to one page per folder. */
  reset(): void {
    for (const hex of this.loaded.keys()) this.invalidate(hex);
    for (const hex of this.loading.keys()) this.invalidate(hex);
    this.wanted.clear();
    this.folders.clear();
  }

  /**
   * The prefixes whose children must reload after these watch events, and forgets what was loaded for them
   * (the next `children` call reloads as many children as were shown). A put reloads the deepest loaded
   * folder the key lies in; a delete also reloads the loaded folders above it (a folder may have emptied).
   * The root (this.root) comes back as itself.
   */
  applyEvents(events: WatchEvent[]): Uint8Array[] {
    const out = new Map<string, Uint8Array>();
    for (const e of events) {
      const key = e.kv.key;
      if (!startsWith(key, this.root)) continue;
      const chain: Uint8Array[] = [];
      if (this.isShown(this.root)) chain.push(this.root);
      let parent = this.root;
      for (;;) {
        const f = folderOf(key, parent, this.separator);
        if (!f || !this.isShown(f)) break;
        chain.push(f);
        parent = f;
      }
      const pick = e.type === 'delete' ? chain : chain.slice(-1);
      for (const p of pick) out.set(toHex(p), p);
    }
    for (const hex of out.keys()) this.invalidate(hex);
    return [...out.values()];
  }

  /** Loaded, or loading: a load in flight may have read the store before the change. */
  private isShown(prefix: Uint8Array): boolean {
    const hex = toHex(prefix);
    return this.loaded.has(hex) || this.loading.has(hex);
  }

  private invalidate(hex: string): void {
    const state = this.loaded.get(hex);
    if (state) this.wanted.set(hex, Math.max(this.wanted.get(hex) ?? 0, state.nodes.length));
    this.loaded.delete(hex);
    this.loading.delete(hex); // a load in flight is stale: the next children() starts a fresh one
    this.generation.set(hex, (this.generation.get(hex) ?? 0) + 1);
  }

  /** Loads a folder's children; keeps them only if nothing made them stale meanwhile. */
  private async load(folder: FolderNode | undefined, hex: string): Promise<Loaded> {
    const prefix = folder?.prefix ?? this.root;
    const generation = this.generation.get(hex) ?? 0;
    const want = Math.max(this.pageSize, this.wanted.get(hex) ?? 0);
    const page = await listChildren(this.source, prefix, this.separator, { limit: want });
    const state: Loaded = { nodes: await this.toNodes(page.children, folder), next: page.next };
    if ((this.generation.get(hex) ?? 0) === generation) this.loaded.set(hex, state);
    return state;
  }

  private async toNodes(entries: ChildEntry[], parent: FolderNode | undefined): Promise<(FolderNode | KeyNode)[]> {
    const base = parent?.prefix ?? this.root;
    const top = parent === undefined && this.root.length > 0;
    const nodes = entries.map((c): FolderNode | KeyNode => {
      if (c.kind === 'folder') {
        const hex = toHex(c.prefix);
        const shown = c.prefix.subarray(top ? 0 : base.length, c.prefix.length - this.separator.length);
        const existing = this.folders.get(hex);
        if (existing) {
          existing.parent = parent;
          return existing;
        }
        const node: FolderNode = { kind: 'folder', id: `folder:${hex}`, prefix: c.prefix, label: displayBytes(shown), parent };
        this.folders.set(hex, node);
        return node;
      }
      const shown = c.kv.key.subarray(top ? 0 : base.length);
      const label = shown.length > 0 ? displayBytes(shown) : displayBytes(c.kv.key);
      return { kind: 'key', id: `key:${toHex(c.kv.key)}`, kv: c.kv, label, parent };
    });
    await this.fillTtls(nodes.filter((n): n is KeyNode => n.kind === 'key' && n.kv.lease !== '0'));
    return nodes;
  }

  private async fillTtls(nodes: KeyNode[]): Promise<void> {
    const byLease = new Map<string, KeyNode[]>();
    for (const n of nodes) byLease.set(n.kv.lease, [...(byLease.get(n.kv.lease) ?? []), n]);
    await Promise.all(
      [...byLease].map(async ([lease, group]) => {
        try {
          const { ttl } = await this.source.leaseTimeToLive(lease);
          for (const n of group) n.ttl = ttl;
        } catch {
          /* the TTL is only a hint */
        }
      }),
    );
  }
}

/** A tooltip's facts about a key (the value is not loaded for the tree). */
export function describeKey(kv: KeyValue, ttl?: number): string[] {
  const lines = [
    `key: ${displayBytes(kv.key)}`,
    `create revision: ${kv.createRevision}`,
    `mod revision: ${kv.modRevision}`,
    `version: ${kv.version}`,
  ];
  if (kv.lease !== '0') {
    const lease = BigInt(kv.lease).toString(16);
    lines.push(`lease: ${lease}${ttl === undefined ? '' : ttl < 0 ? ' (expired)' : ` (TTL ${ttl} s)`}`);
  }
  return lines;
}
