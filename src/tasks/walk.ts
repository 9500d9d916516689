import type { Dirent } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { isAbsent, isInternalName } from '../adapters/fs-paths.ts';
import { sweepStaleTemp, type TempSweep, tempSweep } from '../adapters/fs-sweep.ts';
import { SyncError } from '../core/errors.ts';
import type { NodeKind } from '../core/types.ts';

/** One line of a walk manifest: a path and the kind its directory entry names. */
export interface ManifestEntry {
  path: string;
  kind: NodeKind;
}

function kindOf(entry: Dirent): NodeKind {
  if (entry.isDirectory()) return 'dir';
  if (entry.isSymbolicLink()) return 'symlink';
  // FIFOs, sockets and devices are listed as files on purpose: apply refuses
  // them with UnsupportedFileType, so the task report names them.
  return 'file';
}

/**
 * Every entry below `root`, parents before children, from directory entries
 * alone: d_type says what each entry is, so a million-file tree costs
 * readdir calls, not a million stats (apply stats each path anyway). One
 * open directory handle per level keeps memory flat however wide the tree.
 */
async function* visit(abs: string, rel: string, sweep: TempSweep): AsyncGenerator<ManifestEntry> {
  let dir: Awaited<ReturnType<typeof opendir>>;
  try {
    dir = await opendir(abs);
  } catch (error) {
    // Removed while the walk ran: the change event for it covers it.
    if (isAbsent(error)) return;
    throw error;
  }
  try {
    for (let entry = await dir.read(); entry; entry = await dir.read()) {
      if (isInternalName(entry.name, sweep.prefix, rel === '')) {
        // A killed import's temp file: never listed, removed once it is stale (src/adapters/fs-sweep.ts).
        if (!entry.isDirectory()) await sweepStaleTemp(abs, entry.name, sweep);
        continue;
      }
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const kind = kindOf(entry);
      yield { path, kind };
      if (kind === 'dir') yield* visit(join(abs, entry.name), path, sweep);
    }
  } finally {
    await dir.close();
  }
}

/**
 * Walks `root` (or only `paths` below it), in pages of at most `pageSize`
 * entries, removing stale temp files on the way.
 */
export async function* walkManifest(
  root: string,
  paths: string[],
  pageSize = 1000,
  sweep: TempSweep = tempSweep(),
): AsyncGenerator<ManifestEntry[]> {
  const starts = paths.length ? paths : [''];
  let page: ManifestEntry[] = [];
  for (const start of starts) {
    const entries = start === '' ? visit(root, '', sweep) : narrowed(root, start, sweep);
    for await (const entry of entries) {
      page.push(entry);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
  }
  if (page.length) yield page;
}

/** One `--paths` entry: itself, and its subtree when it is a directory. */
async function* narrowed(root: string, start: string, sweep: TempSweep): AsyncGenerator<ManifestEntry> {
  let stats: Awaited<ReturnType<typeof lstat>>;
  try {
    stats = await lstat(join(root, start));
  } catch (error) {
    if (isAbsent(error)) return;
    throw error;
  }
  const kind: NodeKind = stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'symlink' : 'file';
  yield { path: start, kind };
  if (kind === 'dir') yield* visit(join(root, start), start, sweep);
}

/** Refuses a walk of a root that is not there: an empty manifest would read as "everything was deleted". */
export async function assertRootPresent(root: string): Promise<void> {
  try {
    const dir = await opendir(root);
    await dir.close();
  } catch (error) {
    throw new SyncError('FileSystemRootMissing', `association root ${root} cannot be read`, { cause: error });
  }
}
