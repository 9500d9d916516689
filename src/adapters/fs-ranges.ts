import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { ObjectTypeMismatchError, SourceChangedError, SyncError } from '../core/errors.ts';
import type { FsState } from '../core/types.ts';
import { removeQuietly, syncDirectory } from './fs-io.ts';
import {
  assertRealParent,
  ensureParents,
  lstatState,
  nsToSeconds,
  parentsAreDirectories,
  resolveInside,
  sameFsState,
} from './fs-paths.ts';
import { TEMP_PREFIX } from './fs-sweep.ts';
import type { FileWriteMeta } from './ports.ts';

/**
 * The file system by byte ranges, for the large-file path. Exports read one
 * range of a file that must still be what was planned; imports write ranges
 * into a temp file beside the target (named like every temp file, so walks
 * ignore it and the sweep removes one a killed transfer left), which lands
 * by the same expect-check and rename as LocalFileTree.writeFile.
 */

const PERMISSION_BITS = 0o7777;

/** The path's current state, undefined when absent (or a parent is not a directory). */
async function current(root: string, path: string): Promise<FsState | undefined> {
  const abs = resolveInside(root, path);
  return (await parentsAreDirectories(root, path)) ? lstatState(abs, path) : undefined;
}

/** Throws SourceChangedError unless `path` still holds exactly `expect`. */
export async function assertUnchanged(root: string, path: string, expect: FsState): Promise<void> {
  const now = await current(root, path);
  if (!now || !sameFsState(now, expect)) {
    throw new SourceChangedError(
      `${path} changed during a large transfer (${now ? 'modified' : 'vanished'})`,
    );
  }
}

/** A stream of bytes `start`..`end` (inclusive) of the file at `path`, which must still be `expect`. */
export async function readRange(
  root: string,
  path: string,
  expect: FsState,
  start: number,
  end: number,
): Promise<Readable> {
  await assertUnchanged(root, path, expect);
  const handle = await open(resolveInside(root, path), constants.O_RDONLY | constants.O_NOFOLLOW);
  const stats = await handle.stat({ bigint: true }).catch(async (error) => {
    await handle.close();
    throw error;
  });
  if (stats.ino.toString() !== expect.ino) {
    await handle.close();
    throw new SourceChangedError(`${path} was replaced during a large transfer`);
  }
  const file = handle.createReadStream({ start, end, autoClose: true });
  const checked = verifiedRange(end - start + 1, () => assertUnchanged(root, path, expect));
  file.once('error', (error) => checked.destroy(error));
  // The consumer (an UploadPart) reads `errored` if the check failed before it attached.
  checked.on('error', () => undefined);
  return file.pipe(checked);
}

/**
 * Passes `length` bytes through, holding the latest chunk back until the
 * source is known complete and unchanged (`verify`), so a part read from a
 * file that was truncated, rewritten or removed is never sent whole.
 */
function verifiedRange(length: number, verify: () => Promise<void>): Transform {
  let held: Buffer | undefined;
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const previous = held;
      held = chunk;
      seen += chunk.length;
      callback(null, previous);
    },
    flush(callback: TransformCallback) {
      if (seen !== length) {
        callback(new SourceChangedError(`range read ${seen} of ${length} bytes: the file changed`));
        return;
      }
      verify().then(() => callback(null, held), callback);
    },
  });
}

/** The temp file of `tempName` beside `path`; refuses a name that is not one of ours. */
function tempPath(root: string, path: string, tempName: string): string {
  if (!tempName.startsWith(TEMP_PREFIX) || basename(tempName) !== tempName) {
    throw new SyncError('InvalidPath', `${tempName} is not a bucketlink temp file name`);
  }
  return join(dirname(resolveInside(root, path)), tempName);
}

/** Creates an empty temp file of `size` bytes beside `path`; returns its name. */
export async function createTemp(root: string, path: string, size: number): Promise<string> {
  await ensureParents(root, path);
  await assertRealParent(root, path);
  const name = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
  const handle = await open(
    tempPath(root, path, name),
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    await handle.truncate(size);
  } finally {
    await handle.close();
  }
  return name;
}

/** Writes `body` (exactly `length` bytes) at `start` of the temp file; positional, so ranges land in any order. */
export async function writeRange(
  root: string,
  path: string,
  tempName: string,
  start: number,
  length: number,
  body: Readable,
): Promise<void> {
  // No O_CREAT: a temp file that is gone (aborted, swept) fails the part.
  const handle = await open(tempPath(root, path, tempName), constants.O_WRONLY | constants.O_NOFOLLOW);
  let written = 0;
  try {
    for await (const chunk of body) {
      const buffer = chunk as Buffer;
      if (written + buffer.length > length) throw new SourceChangedError(`${path}: range longer than asked`);
      for (let offset = 0; offset < buffer.length; ) {
        const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, start + written);
        offset += bytesWritten;
        written += bytesWritten;
      }
    }
  } catch (error) {
    body.destroy();
    throw error;
  } finally {
    await handle.close();
  }
  if (written !== length)
    throw new SourceChangedError(`${path}: range ended after ${written} of ${length} bytes`);
}

/**
 * Makes the temp file durable with the imported mode, owner and times, then
 * renames it over `path` if the target still holds `expect` (undefined: must
 * be absent). Returns the state after the rename.
 */
export async function landTemp(
  root: string,
  path: string,
  tempName: string,
  meta: FileWriteMeta,
  expect: FsState | undefined,
  restoreOwner: boolean,
): Promise<FsState> {
  const temp = tempPath(root, path, tempName);
  let handle: FileHandle | undefined = await open(temp, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    await handle.sync();
    if (restoreOwner && meta.restoreOwner !== false && (meta.uid !== undefined || meta.gid !== undefined)) {
      await handle.chown(meta.uid ?? -1, meta.gid ?? -1);
    }
    await handle.chmod((meta.mode ?? 0o644) & PERMISSION_BITS);
    if (meta.mtimeNs)
      await handle.utimes(nsToSeconds(meta.atimeNs ?? meta.mtimeNs), nsToSeconds(meta.mtimeNs));
  } finally {
    await handle.close();
    handle = undefined;
  }
  const now = await current(root, path);
  const unchanged = expect === undefined ? now === undefined : now !== undefined && sameFsState(now, expect);
  if (!unchanged) {
    throw new SourceChangedError(
      `${path} changed since the large import was planned (${now ? `now a ${now.kind}` : 'now absent'}); not replaced`,
    );
  }
  if (now?.kind === 'dir')
    throw new ObjectTypeMismatchError(`${path} is a directory; it cannot be replaced by a file`);
  await assertRealParent(root, path);
  const abs = resolveInside(root, path);
  await rename(temp, abs);
  await syncDirectory(dirname(abs));
  const landed = await lstatState(abs, path);
  if (!landed) throw new SourceChangedError(`${path} vanished right after it was written`);
  return landed;
}

/** Removes the temp file, if it is still there. */
export async function removeTemp(root: string, path: string, tempName: string): Promise<void> {
  await removeQuietly(tempPath(root, path, tempName));
}
