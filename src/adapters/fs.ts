import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import {
  type FileHandle,
  lchown,
  mkdir,
  open,
  rename,
  rmdir,
  symlink,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { ObjectTypeMismatchError, SourceChangedError, SyncError } from '../core/errors.ts';
import { joinPath, parentPath } from '../core/mapping.ts';
import type { FsState } from '../core/types.ts';
import { md5Of, openForExport } from './fs-export.ts';
import { drainInto, findLinkedCopy, linkOrCopyExclusive, removeQuietly, syncDirectory } from './fs-io.ts';
import {
  assertRealParent,
  ensureParents,
  errnoOf,
  hasUserEntries,
  lstatState,
  nsToSeconds,
  parentsAreDirectories,
  resolveInside,
  SENTINEL_NAME,
  sameFsState,
} from './fs-paths.ts';
import { TEMP_PREFIX, type TempSweep, tempSweep } from './fs-sweep.ts';
import { walkTree } from './fs-walk.ts';
import type { ExportRead, FileTree, FileWriteMeta } from './ports.ts';

export interface LocalFileTreeOptions {
  /** Restore uid/gid on import. Default: only when running as root, since chown needs it (docs/architecture.md §3). */
  restoreOwner?: boolean;
  /** Name prefix of in-flight temp files; walks and emptiness checks ignore them. */
  tempPrefix?: string;
  /** Age (by mtime) past which a walk removes a temp file as left by a killed import. Default 1 hour. */
  tempGraceMs?: number;
  /** The clock that ages temp files (tests move it). */
  now?: () => number;
}

const PERMISSION_BITS = 0o7777;

/**
 * The FileTree port on a local (or NFS/EFS-mounted) POSIX file system. All
 * paths are relative to an association root; symlinks are never followed and
 * nothing is written through one; writes land by rename, never in place.
 */
export class LocalFileTree implements FileTree {
  readonly #restoreOwner: boolean;
  readonly #tempPrefix: string;
  readonly #sweep: TempSweep;

  constructor(options: LocalFileTreeOptions = {}) {
    this.#restoreOwner = options.restoreOwner ?? process.getuid?.() === 0;
    this.#tempPrefix = options.tempPrefix ?? TEMP_PREFIX;
    this.#sweep = tempSweep({ prefix: this.#tempPrefix, graceMs: options.tempGraceMs, now: options.now });
  }

  /** lstat of `path`; undefined when absent. Throws SymlinkInPath when a parent is a link. */
  async stat(root: string, path: string): Promise<FsState | undefined> {
    const abs = resolveInside(root, path, { allowRoot: true });
    if (!(await parentsAreDirectories(root, path))) return undefined;
    const state = await lstatState(abs, path);
    if (state?.kind !== 'dir') return state;
    return { ...state, hasChildren: await hasUserEntries(abs, this.#tempPrefix, path === '') };
  }

  async sentinelPresent(root: string): Promise<boolean> {
    const state = await lstatState(join(root, SENTINEL_NAME), SENTINEL_NAME).catch(() => undefined);
    return state?.kind === 'file';
  }

  /** Creates the root if needed and marks it; written by rename so a reader never sees half a sentinel. */
  async writeSentinel(root: string, associationId: string): Promise<void> {
    await mkdir(root, { recursive: true });
    const temp = join(root, this.#tempName());
    try {
      await writeFile(temp, `${JSON.stringify({ associationId, createdAt: new Date().toISOString() })}\n`, {
        flag: 'wx',
      });
      await rename(temp, join(root, SENTINEL_NAME));
      await syncDirectory(root);
    } catch (error) {
      await removeQuietly(temp);
      throw error;
    }
  }

  async openForExport(root: string, path: string): Promise<ExportRead> {
    const abs = resolveInside(root, path);
    if (!(await parentsAreDirectories(root, path))) {
      throw new SourceChangedError(`${path} vanished before it was read`);
    }
    return openForExport(abs, path);
  }

  /**
   * Import's write: the body goes to a temp file beside the target, which
   * gets mode, owner and times before it is renamed over the target, so the
   * real path only ever holds a whole file. The target is re-checked against
   * `expect` just before the rename; a mismatch means someone wrote it since
   * the plan was made, and the temp file is dropped.
   */
  async writeFile(
    root: string,
    path: string,
    body: Readable,
    meta: FileWriteMeta,
    expect: FsState | undefined,
  ): Promise<FsState> {
    const abs = resolveInside(root, path);
    const temp = join(dirname(abs), this.#tempName());
    let handle: FileHandle | undefined;
    try {
      await ensureParents(root, path);
      handle = await open(
        temp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      await drainInto(handle, body);
      await handle.sync();
      if (this.#mayChown(meta)) await handle.chown(meta.uid ?? -1, meta.gid ?? -1);
      // After chown: chown clears set-id bits.
      await handle.chmod((meta.mode ?? 0o644) & PERMISSION_BITS);
      if (meta.mtimeNs) {
        await handle.utimes(nsToSeconds(meta.atimeNs ?? meta.mtimeNs), nsToSeconds(meta.mtimeNs));
      }
      await handle.close();
      handle = undefined;
      await this.#landOver(root, path, temp, expect);
      return await this.#statAfter(abs, path);
    } catch (error) {
      body.destroy();
      await handle?.close().catch(() => undefined);
      await removeQuietly(temp);
      throw error;
    }
  }

  /** Creates a directory (or adopts an existing one) and applies the imported mode, owner and times. */
  async mkdir(root: string, path: string, meta: FileWriteMeta): Promise<FsState> {
    const abs = resolveInside(root, path);
    await ensureParents(root, path);
    const mode = (meta.mode ?? 0o040755) & PERMISSION_BITS;
    try {
      await mkdir(abs, { mode });
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
      const existing = await lstatState(abs, path);
      if (existing?.kind !== 'dir') {
        throw new ObjectTypeMismatchError(
          `cannot create directory ${path}: a ${existing?.kind} holds the name`,
        );
      }
    }
    await assertRealParent(root, path);
    if (this.#mayChown(meta)) await lchown(abs, meta.uid ?? -1, meta.gid ?? -1);
    // mkdir's mode is filtered by the umask; chmod sets exactly what was imported.
    const handle = await open(abs, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
    if (meta.mtimeNs) await utimes(abs, nsToSeconds(meta.atimeNs ?? meta.mtimeNs), nsToSeconds(meta.mtimeNs));
    return this.#statAfter(abs, path);
  }

  /** Creates (or re-points) a symlink atomically: a temp link renamed over the target. */
  async symlink(root: string, path: string, target: string, expect: FsState | undefined): Promise<FsState> {
    const abs = resolveInside(root, path);
    const temp = join(dirname(abs), this.#tempName());
    try {
      await ensureParents(root, path);
      await symlink(target, temp);
      await this.#landOver(root, path, temp, expect);
      return await this.#statAfter(abs, path);
    } catch (error) {
      await removeQuietly(temp);
      throw error;
    }
  }

  /**
   * Unlinks a file or symlink, or removes a directory once it is empty. A
   * directory that still has children is left alone: they are deleted (or
   * kept) on their own, and the last one's removal prunes it.
   */
  async remove(
    root: string,
    path: string,
    expect: FsState,
    options: { pruneParents?: boolean } = {},
  ): Promise<void> {
    const abs = resolveInside(root, path);
    const present = await parentsAreDirectories(root, path);
    const current = present ? await lstatState(abs, path) : undefined;
    if (current) {
      if (!sameFsState(current, expect)) {
        throw new SourceChangedError(`${path} changed since it was planned for deletion; not removed`);
      }
      await assertRealParent(root, path);
      if (current.kind === 'dir') {
        try {
          await rmdir(abs);
        } catch (error) {
          if (errnoOf(error) === 'ENOTEMPTY' || errnoOf(error) === 'EEXIST') return;
          throw error;
        }
      } else {
        await unlink(abs);
      }
    }
    if (options.pruneParents) await this.#pruneParents(root, path);
  }

  /**
   * Keeps the file-system side of a conflict under `conflictPath` without ever
   * replacing anything there: a hard link fails with EEXIST on a taken name.
   * Where hard links are impossible, an exclusive copy does the same. A copy
   * made of this very inode before (a retried conflict) is reused: returns
   * the path the version is kept under.
   */
  async preserve(root: string, path: string, conflictPath: string): Promise<string> {
    const abs = resolveInside(root, path);
    const conflictAbs = resolveInside(root, conflictPath);
    const current = (await parentsAreDirectories(root, path)) ? await lstatState(abs, path) : undefined;
    if (!current) throw new SourceChangedError(`${path} vanished before it could be preserved`);
    if (current.kind === 'dir')
      throw new SyncError('InvalidPath', `${path} is a directory; only files are preserved`);
    const earlier = await findLinkedCopy(abs);
    if (earlier) return joinPath(parentPath(path), earlier);
    await ensureParents(root, conflictPath);
    await assertRealParent(root, conflictPath);
    await linkOrCopyExclusive(abs, conflictAbs, current);
    return conflictPath;
  }

  async md5(root: string, path: string): Promise<string> {
    const abs = resolveInside(root, path);
    if (!(await parentsAreDirectories(root, path))) throw new SyncError('NotFound', `${path} does not exist`);
    return md5Of(abs, path);
  }

  walk(root: string): AsyncIterable<Array<{ path: string; state: FsState }>> {
    return walkTree(root, this.#tempPrefix, this.#sweep);
  }

  #tempName(): string {
    return `${this.#tempPrefix}${randomBytes(8).toString('hex')}`;
  }

  #mayChown(meta: FileWriteMeta): boolean {
    return (
      this.#restoreOwner && meta.restoreOwner !== false && (meta.uid !== undefined || meta.gid !== undefined)
    );
  }

  /** The last step of every write: re-check the target against the plan, then rename and make it durable. */
  async #landOver(root: string, path: string, temp: string, expect: FsState | undefined): Promise<void> {
    const abs = join(root, path);
    const current = (await parentsAreDirectories(root, path)) ? await lstatState(abs, path) : undefined;
    const unchanged =
      expect === undefined ? current === undefined : current !== undefined && sameFsState(current, expect);
    if (!unchanged) {
      throw new SourceChangedError(
        `${path} changed since the write was planned (${current ? `now a ${current.kind}` : 'now absent'}); not replaced`,
      );
    }
    if (current?.kind === 'dir') {
      throw new ObjectTypeMismatchError(`${path} is a directory; it cannot be replaced by a file`);
    }
    await assertRealParent(root, path);
    await rename(temp, abs);
    await syncDirectory(dirname(abs));
  }

  async #statAfter(abs: string, path: string): Promise<FsState> {
    const state = await lstatState(abs, path);
    if (!state) throw new SourceChangedError(`${path} vanished right after it was written`);
    return state;
  }

  /** rmdir parents bottom-up until one is not empty; rmdir itself refuses non-empty ones, so nothing is lost. */
  async #pruneParents(root: string, path: string): Promise<void> {
    for (let parent = dirname(path); parent !== '.' && parent !== ''; parent = dirname(parent)) {
      const parentAbs = join(root, parent);
      if (!(await parentsAreDirectories(root, parent))) return;
      const state = await lstatState(parentAbs, parent).catch(() => undefined);
      if (state?.kind !== 'dir') return;
      try {
        await rmdir(parentAbs);
      } catch {
        return;
      }
    }
  }
}
