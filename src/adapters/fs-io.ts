import { constants } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  link,
  lstat,
  lutimes,
  open,
  opendir,
  readlink,
  symlink,
  unlink,
  utimes,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { FsState } from '../core/types.ts';
import { errnoOf, nsToSeconds } from './fs-paths.ts';

/** Low-level steps of the file tree's writes: durability, streaming into a handle, exclusive copies. */

// Link errors that mean "this file system cannot hard-link here", not "the name is taken".
const LINK_UNSUPPORTED = new Set(['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** fsync a directory so a rename in it survives a crash. Some file systems refuse; the rename stands anyway. */
export async function syncDirectory(abs: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(abs, constants.O_RDONLY | constants.O_DIRECTORY);
    await handle.sync();
  } catch (error) {
    if (!['EINVAL', 'ENOTSUP', 'EISDIR', 'EBADF'].includes(errnoOf(error) ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes a stream into an open handle. Not a write stream: that would hold
 * the handle until destroyed, and the fd is still needed for fsync, chmod
 * and utimes. Awaiting each write is the backpressure.
 */
export async function drainInto(handle: FileHandle, body: Readable): Promise<void> {
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    for (let offset = 0; offset < buffer.length; ) {
      offset += (await handle.write(buffer, offset)).bytesWritten;
    }
  }
}

export async function removeQuietly(abs: string): Promise<void> {
  await unlink(abs).catch(() => undefined);
}

/**
 * Puts `current` (the file or symlink at `abs`) under `conflictAbs` without
 * ever replacing what is there: link(2) fails with EEXIST on a taken name and
 * does not follow a symlink source on Linux. Where hard links are impossible
 * (EXDEV, EPERM on some NFS/EFS setups), an exclusive copy does the same.
 */
export async function linkOrCopyExclusive(abs: string, conflictAbs: string, current: FsState): Promise<void> {
  try {
    await link(abs, conflictAbs);
    return;
  } catch (error) {
    if (!LINK_UNSUPPORTED.has(errnoOf(error) ?? '')) throw error;
  }
  const mtime = nsToSeconds(current.mtimeNs);
  if (current.kind === 'symlink') {
    await symlink(await readlink(abs), conflictAbs);
    await lutimes(conflictAbs, mtime, mtime);
    return;
  }
  await copyFile(abs, conflictAbs, constants.COPYFILE_EXCL);
  await utimes(conflictAbs, mtime, mtime);
}

/**
 * A conflict copy already made of the inode at `abs`: a hard link to it
 * beside it under a `.conflict-` name (what `linkOrCopyExclusive` makes).
 * A KEEP_BOTH retried after its import failed finds the copy it made the
 * first time. Only looked for when the inode has more than one link.
 * Returns the copy's name in the directory, or undefined.
 */
export async function findLinkedCopy(abs: string): Promise<string | undefined> {
  const stats = await lstat(abs, { bigint: true });
  if (stats.nlink < 2n) return undefined;
  const name = basename(abs);
  const dir = await opendir(dirname(abs));
  try {
    for (let entry = await dir.read(); entry; entry = await dir.read()) {
      if (entry.name === name || !entry.name.includes('.conflict-')) continue;
      const other = await lstat(join(dirname(abs), entry.name), { bigint: true }).catch(() => undefined);
      if (other?.ino === stats.ino && other.dev === stats.dev) return entry.name;
    }
    return undefined;
  } finally {
    await dir.close();
  }
}
