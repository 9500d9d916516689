import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { SourceChangedError, SyncError } from '../core/errors.ts';
import type { FsState } from '../core/types.ts';
import { errnoOf, fsStateOf, lstatState, sameFsState } from './fs-paths.ts';
import type { ExportRead } from './ports.ts';

/**
 * Reading files for export without tearing: the stat taken before the read
 * is what the ledger records, and `verify` refuses the upload if the file
 * moved while it was read (docs/architecture.md §2).
 */

// O_NONBLOCK: if a FIFO is swapped in after the lstat, open must not hang the worker.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function describeMove(path: string, before: FsState, after: FsState | undefined, how: string): string {
  if (!after) return `${path} vanished while it was read`;
  return (
    `${path} changed while it was read (${how}: size ${before.size}→${after.size}, ` +
    `mtime ${before.mtimeNs}→${after.mtimeNs}, ctime ${before.ctimeNs}→${after.ctimeNs}, ino ${before.ino}→${after.ino})`
  );
}

/** Opens the file without following a link and checks the fd is the inode `before` described. */
async function openVerified(abs: string, path: string, before: FsState): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(abs, READ_FLAGS);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') {
      throw Object.assign(new SourceChangedError(`${path} vanished or was replaced before it was read`), {
        cause: error,
      });
    }
    throw error;
  }
  const opened = await fsStateOf(abs, await handle.stat({ bigint: true }));
  if (!opened || !sameFsState(opened, before)) {
    await handle.close();
    throw new SourceChangedError(describeMove(path, before, opened, 'replaced before open'));
  }
  return handle;
}

/** Opens `abs` for export. For a symlink the body is its target, for a directory it is empty. */
export async function openForExport(abs: string, path: string): Promise<ExportRead> {
  const before = await lstatState(abs, path);
  if (!before) throw new SourceChangedError(`${path} vanished before it was read`);
  const recheck = async () => {
    const after = await lstatState(abs, path);
    if (!after || !sameFsState(after, before)) {
      throw new SourceChangedError(describeMove(path, before, after, 'lstat'));
    }
    if (before.kind === 'symlink' && after.linkTarget !== before.linkTarget) {
      throw new SourceChangedError(`${path} was re-pointed while it was read`);
    }
  };
  if (before.kind === 'symlink') {
    return { body: Readable.from([Buffer.from(before.linkTarget ?? '', 'utf8')]), before, verify: recheck };
  }
  if (before.kind === 'dir') return { body: Readable.from([]), before, verify: recheck };

  const handle = await openVerified(abs, path, before);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await handle.close();
  };
  // autoClose off: the fd must outlive the read so verify can fstat the very inode that was read.
  // Read no more than the size declared to S3: a file that grows while it is read would otherwise
  // complete a single PUT with its first `size` bytes before verify could object.
  const body =
    before.size > 0 ? handle.createReadStream({ autoClose: false, end: before.size - 1 }) : Readable.from([]);
  body.once('close', () => void close().catch(() => undefined));
  body.once('error', () => void close().catch(() => undefined));
  const verify = async () => {
    try {
      // The path first: "vanished" is the clearer report, and unlinking also moves the fd's ctime.
      await recheck();
      if (!closed) {
        const read = await fsStateOf(abs, await handle.stat({ bigint: true }));
        if (!read || !sameFsState(read, before)) {
          throw new SourceChangedError(describeMove(path, before, read, 'fstat'));
        }
      }
    } finally {
      await close();
    }
  };
  return { body, before, verify };
}

/** MD5 of what export would upload: the bytes of a file, the target of a symlink, nothing for a directory. */
export async function md5Of(abs: string, path: string): Promise<string> {
  const state = await lstatState(abs, path);
  if (!state) throw new SyncError('NotFound', `${path} does not exist`);
  const hash = createHash('md5');
  if (state.kind === 'symlink') hash.update(Buffer.from(state.linkTarget ?? '', 'utf8'));
  if (state.kind === 'file') {
    const handle = await open(abs, READ_FLAGS);
    try {
      for await (const chunk of handle.createReadStream({ autoClose: false })) hash.update(chunk as Buffer);
    } finally {
      await handle.close();
    }
  }
  return hash.digest('hex');
}
