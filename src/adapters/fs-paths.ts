import type { BigIntStats } from 'node:fs';
import { lstat, mkdir, opendir, readlink, realpath } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ObjectTypeMismatchError, SyncError } from '../core/errors.ts';
import type { FsState, NodeKind } from '../core/types.ts';

/**
 * Path safety and stat translation for the file tree. Every operation goes
 * through here first, so "nothing escapes the association root" is decided
 * in one place (docs/architecture.md §3, §6.4).
 */

/** The association-root file whose absence means "not mounted": no deletes are inferred then. */
export const SENTINEL_NAME = '.bucketlink';

/** Node error codes we branch on. */
export function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/** A path that is absent, or has a non-directory where a directory should be. */
export function isAbsent(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Checks a root-relative path is one bucketlink may touch and returns its
 * absolute form. The mapping layer already refuses such keys; this is the
 * last line of defence, so it refuses rather than normalises.
 */
export function resolveInside(root: string, path: string, options: { allowRoot?: boolean } = {}): string {
  if (path === '') {
    if (options.allowRoot) return root;
    throw new SyncError('InvalidPath', 'the association root itself cannot be the target of this operation');
  }
  if (
    path.includes('\0') ||
    path.startsWith('/') ||
    path.split('/').some((s) => s === '' || s === '.' || s === '..')
  ) {
    throw new SyncError(
      'InvalidPath',
      `path ${JSON.stringify(path)} is not a plain relative path inside the root`,
    );
  }
  return join(root, path);
}

function symlinkInPath(path: string, component: string): SyncError {
  return new SyncError('SymlinkInPath', `refusing ${path}: component ${component} is a symbolic link`);
}

/** Each parent directory of `path`, outermost first: its absolute and its root-relative path. */
function* parentChain(root: string, path: string): Generator<{ current: string; rel: string }> {
  let current = root;
  let rel = '';
  for (const segment of path.split('/').slice(0, -1)) {
    current = join(current, segment);
    rel = rel ? `${rel}/${segment}` : segment;
    yield { current, rel };
  }
}

/**
 * Walks the parents of `path` with lstat and refuses any that is a symlink,
 * so nothing is read or written through a link. Returns false when a parent
 * is missing or is not a directory (the path cannot exist then).
 */
export async function parentsAreDirectories(root: string, path: string): Promise<boolean> {
  for (const { current, rel } of parentChain(root, path)) {
    let stats: BigIntStats;
    try {
      stats = await lstat(current, { bigint: true });
    } catch (error) {
      if (isAbsent(error)) return false;
      throw error;
    }
    if (stats.isSymbolicLink()) throw symlinkInPath(path, rel);
    if (!stats.isDirectory()) return false;
  }
  return true;
}

/**
 * `mkdir -p` for the parents of `path`, one component at a time so that a
 * symlink planted anywhere in the chain is refused rather than followed.
 */
export async function ensureParents(root: string, path: string, mode = 0o755): Promise<void> {
  for (const { current, rel } of parentChain(root, path)) {
    try {
      await mkdir(current, { mode });
      continue;
    } catch (error) {
      if (errnoOf(error) !== 'EEXIST') throw error;
    }
    const stats = await lstat(current);
    if (stats.isSymbolicLink()) throw symlinkInPath(path, rel);
    if (!stats.isDirectory()) {
      throw new ObjectTypeMismatchError(`cannot create ${path}: ${rel} exists and is not a directory`);
    }
  }
}

/**
 * The lstat walk leaves a window in which a directory could be swapped for a
 * link; re-checking the real path of the parent just before a rename or
 * unlink closes most of it.
 */
export async function assertRealParent(root: string, path: string): Promise<void> {
  const relDir = dirname(path);
  const [realRoot, realDir] = await Promise.all([realpath(root), realpath(dirname(join(root, path)))]);
  const expected = relDir === '.' ? realRoot : join(realRoot, relDir);
  if (realDir !== expected) throw symlinkInPath(path, relDir);
}

function kindOf(stats: BigIntStats): NodeKind | undefined {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  return undefined;
}

/** Whether a directory entry name is bucketlink's own (sentinel, temp files), not user data. */
export function isInternalName(name: string, tempPrefix: string, atRoot: boolean): boolean {
  return name.startsWith(tempPrefix) || (atRoot && name === SENTINEL_NAME);
}

/** Whether a directory holds anything a user put there; stops at the first such entry. */
export async function hasUserEntries(abs: string, tempPrefix: string, atRoot: boolean): Promise<boolean> {
  const dir = await opendir(abs);
  try {
    for (let entry = await dir.read(); entry; entry = await dir.read()) {
      if (!isInternalName(entry.name, tempPrefix, atRoot)) return true;
    }
    return false;
  } finally {
    await dir.close();
  }
}

/**
 * lstat translated to FsState, with exact nanosecond times and inode numbers
 * as decimal strings (they exceed 2^53). Sockets, FIFOs and devices have no
 * S3 form: undefined.
 */
export async function fsStateOf(abs: string, stats: BigIntStats): Promise<FsState | undefined> {
  const kind = kindOf(stats);
  if (!kind) return undefined;
  const state: FsState = {
    kind,
    size: Number(stats.size),
    mtimeNs: stats.mtimeNs.toString(),
    ctimeNs: stats.ctimeNs.toString(),
    ino: stats.ino.toString(),
    mode: Number(stats.mode),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
  };
  if (kind === 'symlink') {
    const target = await readlink(abs, { encoding: 'buffer' });
    state.linkTarget = target.toString('utf8');
    state.size = target.byteLength;
  }
  return state;
}

/** lstat → FsState, or undefined when absent. Refuses special files: they cannot be synced. */
export async function lstatState(abs: string, path: string): Promise<FsState | undefined> {
  let stats: BigIntStats;
  try {
    stats = await lstat(abs, { bigint: true });
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
  const state = await fsStateOf(abs, stats);
  if (!state)
    throw new SyncError('UnsupportedFileType', `${path} is a socket, FIFO or device; it is not synced`);
  return state;
}

/**
 * Whether a path still holds what the caller last saw. Directories change
 * mtime with every child, so only identity and mode count for them (§2).
 */
export function sameFsState(current: FsState, expected: FsState): boolean {
  if (current.kind !== expected.kind || current.ino !== expected.ino) return false;
  if (current.kind === 'dir') return current.mode === expected.mode;
  return (
    current.size === expected.size &&
    current.mtimeNs === expected.mtimeNs &&
    current.ctimeNs === expected.ctimeNs
  );
}

/** Nanoseconds (decimal string) → seconds for utimes. A double keeps ~240 ns at today's epoch. */
export function nsToSeconds(ns: string): number {
  const value = BigInt(ns);
  return Number(value / 1_000_000_000n) + Number(value % 1_000_000_000n) / 1e9;
}
