// Values open as files through the `raftlab:` scheme. Reading remembers the key's mod revision; saving writes
// only if the key still has it (keys/value-files.ts), otherwise the save fails with a clear message and the
// choice to Overwrite or Compare. A `rev=` URI is a past version, read-only (Show History diffs those). A file
// is tied to the connection it was opened from (its URI's authority, keys/connection-authority.ts).
import * as vscode from 'vscode';
import { displayBytes, guessLanguage } from '../keys/bytes.ts';
import { SCHEME, keyToUriParts, uriPartsToKey } from '../keys/key-uri.ts';
import { wrongConnection } from '../keys/connection-authority.ts';
import { UnreachableError, ValueTooLargeError } from '../keys/etcd-errors.ts';
import { ConflictError, KeyNotFoundError, NotTextError, type ValueFiles } from '../keys/value-files.ts';
import type { WatchEvent } from '../keys/kv-source.ts';
import { toHex } from '../keys/bytes.ts';
import type { Session } from './session.ts';

export function keyUri(session: Session, key: Uint8Array, revision?: number): vscode.Uri {
  const parts = keyToUriParts(session.authority() ?? 'local', key, revision);
  return vscode.Uri.from({ scheme: SCHEME, ...parts });
}

export function keyOfUri(uri: vscode.Uri): { key: Uint8Array; revision?: number } {
  return uriPartsToKey({ path: uri.path, query: uri.query });
}

export class ValueFileSystem implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.changed.event;
  private readonly subs: vscode.Disposable[];

  constructor(private readonly session: Session) {
    this.subs = [session.onDidChangeKeys((events) => this.onKeys(events))];
  }

  /** The value files of the connection `uri` was opened from; refuses when that is not the current one. */
  private files(uri: vscode.Uri): ValueFiles {
    const files = this.session.files;
    const wrong = wrongConnection(uri.authority, this.session.authority());
    if (wrong) throw vscode.FileSystemError.Unavailable(wrong);
    if (!files) throw vscode.FileSystemError.Unavailable('no cluster is running: start the local cluster or connect to etcd');
    return files;
  }

  /** Open editors of keys that changed on the cluster reload (or, when dirty, will meet the conflict check). */
  private onKeys(events: WatchEvent[]): void {
    const touched = new Map(events.map((e) => [toHex(e.kv.key), e.type]));
    const out: vscode.FileChangeEvent[] = [];
    const authority = this.session.authority();
    for (const doc of vscode.workspace.textDocuments) {
      if (doc.uri.scheme !== SCHEME || doc.uri.authority !== authority) continue;
      let parsed;
      try {
        parsed = keyOfUri(doc.uri);
      } catch {
        continue;
      }
      if (parsed.revision) continue;
      const type = touched.get(toHex(parsed.key));
      if (type) out.push({ uri: doc.uri, type: type === 'delete' ? vscode.FileChangeType.Deleted : vscode.FileChangeType.Changed });
    }
    if (out.length > 0) this.changed.fire(out);
  }

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined);
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    const { key, revision } = keyOfUri(uri);
    const kv = await this.call(() => this.files(uri).get(key, revision));
    if (!kv) throw vscode.FileSystemError.FileNotFound(uri);
    // mtime follows the mod revision so an unmodified editor reloads when the key changes. size is 0 on
    // purpose: VS Code's own "file is newer" check compares mtime and size and would race ours; the mod
    // revision compare in writeFile is the one that decides.
    return {
      type: vscode.FileType.File,
      ctime: kv.createRevision,
      mtime: kv.modRevision,
      size: 0,
      ...(revision ? { permissions: vscode.FilePermission.Readonly } : {}),
    };
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    const { key, revision } = keyOfUri(uri);
    const kv = await this.call(() => this.files(uri).read(key, revision), uri);
    return kv.value;
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array): Promise<void> {
    const { key, revision } = keyOfUri(uri);
    if (revision) throw vscode.FileSystemError.NoPermissions(`revision ${revision} of ${displayBytes(key)} is history and read-only`);
    try {
      await this.call(() => this.files(uri).write(key, content));
    } catch (err) {
      const conflict = (err as { conflict?: ConflictError }).conflict;
      if (conflict) void this.offerConflictChoices(uri, conflict);
      throw err;
    }
  }

  async delete(uri: vscode.Uri): Promise<void> {
    const { key } = keyOfUri(uri);
    await this.call(() => this.files(uri).delete(key));
  }

  readDirectory(): [string, vscode.FileType][] {
    return [];
  }

  /**
   * Keys need no folders. Saving a file whose key was deleted meanwhile makes VS Code create the "folders" above
   * it first; refusing that would end the save before writeFile's conflict check offers to create it again.
   */
  createDirectory(): void {}

  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(`renaming keys is not supported (${uri.path})`);
  }

  /** Runs a model call, turning its errors into FileSystemErrors VS Code understands. */
  private async call<T>(fn: () => Promise<T>, uri?: vscode.Uri): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof vscode.FileSystemError) throw err;
      if (err instanceof KeyNotFoundError) throw vscode.FileSystemError.FileNotFound(uri ?? err.message);
      // Messages written for the user, shown as they are (a save stays dirty: nothing was written).
      if (err instanceof NotTextError || err instanceof ValueTooLargeError || err instanceof UnreachableError) throw new vscode.FileSystemError(err.message);
      if (err instanceof ConflictError) {
        const e = new vscode.FileSystemError(err.message);
        (e as unknown as { conflict: ConflictError }).conflict = err;
        throw e;
      }
      throw vscode.FileSystemError.Unavailable((err as Error).message ?? String(err));
    }
  }

  /** After a failed save: Overwrite saves again over what the cluster has; Compare shows theirs beside yours. */
  private async offerConflictChoices(uri: vscode.Uri, conflict: ConflictError): Promise<void> {
    const choice = await vscode.window.showWarningMessage(`Raft Lab: ${conflict.message}.`, 'Overwrite', 'Compare');
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (choice === 'Overwrite') {
      this.session.files?.setBase(conflict.key, conflict.current?.modRevision ?? 0);
      if (doc) await doc.save();
    } else if (choice === 'Compare') {
      const name = displayBytes(conflict.key);
      if (conflict.current) {
        const theirs = keyUri(this.session, conflict.key, conflict.current.modRevision);
        await vscode.commands.executeCommand('vscode.diff', theirs, uri, `${name} (cluster, rev ${conflict.current.modRevision}) ↔ yours`);
      } else {
        void vscode.window.showInformationMessage(`Raft Lab: ${name} no longer exists on the cluster; save with Overwrite to create it again.`);
      }
    }
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
    this.changed.dispose();
  }
}

/** Sets JSON / YAML for values whose key has no telling extension. */
export function pickLanguage(doc: vscode.TextDocument): void {
  if (doc.uri.scheme !== SCHEME || doc.languageId !== 'plaintext') return;
  const lang = guessLanguage(new TextEncoder().encode(doc.getText()));
  if (lang !== 'plaintext') void vscode.languages.setTextDocumentLanguage(doc, lang);
}
