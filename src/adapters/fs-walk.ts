import type { BigIntStats } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncError } from '../core/errors.ts';
import type { FsState } from '../core/types.ts';
import { errnoOf, fsStateOf, isAbsent, isInternalName } from './fs-paths.ts';
import { sweepStaleTemp, type TempSweep, tempSweep } from './fs-sweep.ts';

/** Entries per page: about one DynamoDB-sized batch of work, and a bound on memory. */
export const WALK_PAGE_SIZE = 1000;

interface WalkEntry {
  path: string;
  state: FsState;
}

/**
 * Depth-first, parents before children. One open directory handle per level
 * (not a queue of pending directories), so memory stays flat however wide
 * the tree is. A directory's `hasChildren` is known by peeking at its first
 * child before the directory itself is emitted.
 */
async function* visit(abs: string, rel: string, sweep: TempSweep): AsyncGenerator<WalkEntry> {
  const dir = await opendir(abs);
  try {
    for (let entry = await dir.read(); entry; entry = await dir.read()) {
      if (isInternalName(entry.name, sweep.prefix, rel === '')) {
        // A killed import's temp file: never listed, removed once it is stale.
        if (!entry.isDirectory()) await sweepStaleTemp(abs, entry.name, sweep);
        continue;
      }
      const childAbs = join(abs, entry.name);
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      let stats: BigIntStats;
      try {
        stats = await lstat(childAbs, { bigint: true });
      } catch (error) {
        // Deleted between readdir and lstat: the change event for it will follow.
        if (isAbsent(error)) continue;
        throw error;
      }
      const state = await fsStateOf(childAbs, stats).catch((error: unknown) => {
        if (isAbsent(error) || errnoOf(error) === 'EINVAL') return undefined;
        throw error;
      });
      if (!state) continue;
      if (state.kind !== 'dir') {
        yield { path: childRel, state };
        continue;
      }
      const children = visit(childAbs, childRel, sweep);
      let first: IteratorResult<WalkEntry>;
      try {
        first = await children.next();
      } catch (error) {
        if (isAbsent(error)) continue;
        throw error;
      }
      try {
        yield { path: childRel, state: { ...state, hasChildren: !first.done } };
        if (first.done) continue;
        yield first.value;
        yield* children;
      } finally {
        // A consumer that stops early must not leave the child's directory handle open.
        await children.return(undefined);
      }
    }
  } finally {
    await dir.close();
  }
}

/**
 * Every entry below `root` in pages of at most WALK_PAGE_SIZE; the sentinel
 * and temp files are left out, and temp files older than the sweep's grace
 * period are removed on the way (src/adapters/fs-sweep.ts).
 */
export async function* walkTree(
  root: string,
  tempPrefix: string,
  sweep: TempSweep = tempSweep({ prefix: tempPrefix }),
): AsyncGenerator<WalkEntry[]> {
  let entries: AsyncGenerator<WalkEntry>;
  try {
    const stats = await lstat(root);
    if (!stats.isDirectory()) throw new SyncError('FileSystemRootMissing', `${root} is not a directory`);
    entries = visit(root, '', { ...sweep, prefix: tempPrefix });
  } catch (error) {
    if (!isAbsent(error)) throw error;
    // An empty listing would read as "everything was deleted"; an absent root must not.
    throw new SyncError('FileSystemRootMissing', `association root ${root} does not exist`, { cause: error });
  }
  let page: WalkEntry[] = [];
  for await (const entry of entries) {
    page.push(entry);
    if (page.length >= WALK_PAGE_SIZE) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
