import { lstat, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Sweeping the temp files a killed import left behind. Every import writes
 * `<tempPrefix><random>` beside its target and renames it into place; a
 * worker killed in between leaves the temp file. Walks never report such
 * names (they are never exported), and the walks RECONCILE runs remove the
 * ones older than a grace period: an import in flight keeps writing, so its
 * temp file's mtime stays fresh (a Lambda lives 15 minutes at most).
 */

/** The default prefix of bucketlink's temp files (LocalFileTree's `tempPrefix`). */
export const TEMP_PREFIX = '.bucketlink-tmp-';
/** How old (by mtime) a temp file must be before a walk removes it. */
export const TEMP_GRACE_MS = 60 * 60_000;

export interface TempSweep {
  prefix: string;
  graceMs: number;
  now: () => number;
}

/** A sweep with the defaults for whatever `options` leaves out (or leaves undefined). */
export function tempSweep(
  options: {
    prefix?: string | undefined;
    graceMs?: number | undefined;
    now?: (() => number) | undefined;
  } = {},
): TempSweep {
  return {
    prefix: options.prefix ?? TEMP_PREFIX,
    graceMs: options.graceMs ?? TEMP_GRACE_MS,
    now: options.now ?? Date.now,
  };
}

/**
 * Removes `dir/name` when it is one of bucketlink's temp files (a file or a
 * symlink, never a directory) whose mtime is older than the grace period.
 * Best effort: a temp file that vanished or cannot be removed is left to the
 * next walk, and never fails the walk. Returns whether it was removed.
 */
export async function sweepStaleTemp(dir: string, name: string, sweep: TempSweep): Promise<boolean> {
  if (!name.startsWith(sweep.prefix)) return false;
  const abs = join(dir, name);
  try {
    const stats = await lstat(abs);
    if (stats.isDirectory()) return false;
    if (sweep.now() - stats.mtimeMs < sweep.graceMs) return false;
    await unlink(abs);
    return true;
  } catch {
    return false;
  }
}
