import { type Readable, Transform, type TransformCallback } from 'node:stream';
import { text } from 'node:stream/consumers';
import type { ExportRead, FileTree, ObjectStore } from '../adapters/ports.ts';
import { toS3Snapshot } from '../core/compare.ts';
import { SourceChangedError } from '../core/errors.ts';
import { pathToKey } from '../core/mapping.ts';
import { encodePosixMeta, metaHash } from '../core/metadata.ts';
import type { FsState, S3Location, S3Snapshot, S3State } from '../core/types.ts';

/**
 * The transfers themselves: one direction each, no decisions. Each returns
 * the state of both sides as the ledger must remember it.
 */

export interface Side {
  tree: FileTree;
  store: ObjectStore;
  root: string;
  location: S3Location;
  restoreOwner: boolean;
}

export interface Transferred {
  fs: FsState;
  s3: S3Snapshot;
  bytes: number;
}

/**
 * Passes the file through and, before the last byte is released, checks the
 * file did not move while it was read. A failed check errors the stream, so
 * the upload (single PUT or multipart) aborts and no torn object is stored.
 */
function verifiedBody(read: ExportRead): Transform {
  // The latest chunk is held back: S3 stores an object once it has every declared byte.
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const previous = held;
      held = chunk;
      callback(null, previous);
    },
    flush(callback: TransformCallback) {
      read.verify().then(() => callback(null, held), callback);
    },
  });
}

/**
 * The condition an export's PUT carries so it never overwrites blindly: no
 * object yet (`If-None-Match: *`), or exactly the one decided on (`If-Match`).
 * Losing it is a SourceChangedError: the path is planned again.
 */
export function exportCondition(
  key: string,
  s3: S3State | undefined,
): { ifMatch?: string; ifNoneMatch?: string } {
  if (s3 && s3.key === key && s3.etag) return { ifMatch: s3.etag };
  // A different key (a marker where a file goes, an implied directory) is no object at this key.
  return { ifNoneMatch: '*' };
}

/** Uploads the file, directory marker or symlink at `path`; `s3` is what the decision saw there. */
export async function exportPath(side: Side, path: string, fs: FsState, s3?: S3State): Promise<Transferred> {
  const key = pathToKey(path, side.location.prefix, fs.kind);
  const metadata = encodePosixMeta(fs);
  const condition = exportCondition(key, s3);
  if (fs.kind === 'dir') {
    const put = await side.store.put(side.location.bucket, key, '', { size: 0, metadata, ...condition });
    return { fs, s3: snapshotAfterPut(put, 0, metadata), bytes: 0 };
  }
  const read = await side.tree.openForExport(side.root, path);
  const before = read.before;
  if (before.kind !== fs.kind || before.ino !== fs.ino) {
    read.body.destroy();
    throw new SourceChangedError(`${path} changed between decision and read`);
  }
  const body = before.kind === 'symlink' ? read.body : read.body.pipe(verifiedBody(read));
  read.body.once('error', (error) => body.destroy(error));
  const put = await side.store.put(side.location.bucket, key, body, {
    size: before.size,
    metadata: encodePosixMeta(before),
    ...condition,
  });
  if (before.kind === 'symlink') await read.verify();
  return { fs: before, s3: snapshotAfterPut(put, before.size, encodePosixMeta(before)), bytes: before.size };
}

export function snapshotAfterPut(
  put: { etag: string; versionId?: string },
  size: number,
  metadata: Record<string, string>,
): S3Snapshot {
  return {
    etag: put.etag,
    ...(put.versionId ? { versionId: put.versionId } : {}),
    // PutObject does not return LastModified, and a HEAD after it would race
    // with other writers; "same" on the S3 side is etag + version + metadata.
    lastModified: new Date().toISOString(),
    size,
    metaHash: metaHash(metadata),
  };
}

/**
 * Downloads the object at `s3` to `path`, atomically; `expect` is the file-system state it may
 * replace. `fetched` is the body of the GET that produced `s3`, when there was one: no second GET.
 */
export async function importPath(
  side: Side,
  path: string,
  s3: S3State,
  expect: FsState | undefined,
  fetched?: Readable,
): Promise<Transferred> {
  const mtimeNs = s3.meta.mtimeNs ?? (BigInt(Date.parse(s3.lastModified)) * 1_000_000n).toString();
  const meta = { ...s3.meta, mtimeNs, restoreOwner: side.restoreOwner };
  if (s3.kind === 'dir') {
    const fs = await side.tree.mkdir(side.root, path, meta);
    return { fs, s3: toS3Snapshot(s3), bytes: 0 };
  }
  const { body, state } = fetched
    ? { body: fetched, state: s3 }
    : await side.store.get(side.location.bucket, s3.key, { ifMatch: s3.etag });
  if (state.etag !== s3.etag) {
    body.destroy();
    throw new SourceChangedError(`${s3.key} changed between decision and read`);
  }
  if (s3.kind === 'symlink') {
    const target = await text(body);
    const fs = await side.tree.symlink(side.root, path, target, expect);
    return { fs, s3: toS3Snapshot(state), bytes: state.size };
  }
  const fs = await side.tree.writeFile(side.root, path, body, meta, expect);
  return { fs, s3: toS3Snapshot(state), bytes: state.size };
}

/** Whether the file's bytes equal the object's, by MD5 against a single-part ETag. */
export async function contentMatches(side: Side, path: string, s3: S3State): Promise<boolean> {
  if (s3.etag.includes('-')) return false;
  return (await side.tree.md5(side.root, path)) === s3.etag;
}
