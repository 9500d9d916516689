import { describe, expect, it } from 'vitest';
import {
  fsUnchanged,
  isRacy,
  s3Unchanged,
  sidesEqual,
  toFsSnapshot,
  toS3Snapshot,
} from '../../../src/core/decide.ts';
import type { FsState, S3State } from '../../../src/core/types.ts';

const T0_NS = '1700000000000000000';
const T0_MS = 1_700_000_000_000;

const file: FsState = {
  kind: 'file',
  size: 5,
  mtimeNs: T0_NS,
  ctimeNs: T0_NS,
  ino: '100',
  mode: 0o100644,
  uid: 1000,
  gid: 1000,
};
const dir: FsState = { ...file, kind: 'dir', size: 4096, ino: '300', mode: 0o040755, hasChildren: true };
const object: S3State = {
  kind: 'file',
  key: 'p/a',
  etag: '5d41402abc4b2a76b9719d911017c592',
  lastModified: '2023-11-14T22:13:20.000Z',
  size: 5,
  metaHash: 'm1',
  meta: { mode: 0o100644, mtimeNs: T0_NS },
};

describe('fsUnchanged', () => {
  it('is true for the stat the snapshot was taken from', () => {
    expect(fsUnchanged(toFsSnapshot(file), file)).toBe(true);
  });

  it.each([
    ['size', { size: 6 }],
    ['mtime', { mtimeNs: '1700000000000000001' }],
    ['ctime (a chmod or link count change)', { ctimeNs: '1700000000000000001' }],
    ['inode (replaced by a rename)', { ino: '101' }],
    ['mode', { mode: 0o100600 }],
  ])('sees a change of %s', (_label, change) => {
    expect(fsUnchanged(toFsSnapshot(file), { ...file, ...change })).toBe(false);
  });

  it('ignores owner and group, which are not always restorable', () => {
    expect(fsUnchanged(toFsSnapshot(file), { ...file, uid: 0, gid: 0 })).toBe(true);
  });

  it('compares directories by mode only', () => {
    const moved = { ...dir, size: 8192, mtimeNs: '1', ctimeNs: '2', ino: '999' };
    expect(fsUnchanged(toFsSnapshot(dir), moved)).toBe(true);
    expect(fsUnchanged(toFsSnapshot(dir), { ...dir, mode: 0o040700 })).toBe(false);
  });
});

describe('s3Unchanged', () => {
  it('is true for the HEAD the snapshot was taken from', () => {
    expect(s3Unchanged(toS3Snapshot(object), object)).toBe(true);
  });

  it.each([
    ['etag', { etag: 'other' }],
    ['metadata hash (a metadata-only rewrite keeps the ETag)', { metaHash: 'm2' }],
    ['size', { size: 6 }],
    ['versionId when both have one', { versionId: 'v2' }],
  ])('sees a change of %s', (_label, change) => {
    const base = toS3Snapshot({ ...object, versionId: 'v1' });
    expect(s3Unchanged(base, { ...object, versionId: 'v1', ...change })).toBe(false);
  });

  it('ignores a versionId only one side has', () => {
    expect(s3Unchanged(toS3Snapshot(object), { ...object, versionId: 'v1' })).toBe(true);
    expect(s3Unchanged(toS3Snapshot({ ...object, versionId: 'v1' }), object)).toBe(true);
  });

  it('ignores LastModified (listings and HEADs disagree on its precision)', () => {
    expect(s3Unchanged(toS3Snapshot(object), { ...object, lastModified: '2030-01-01T00:00:00.000Z' })).toBe(
      true,
    );
  });
});

describe('sidesEqual', () => {
  it('is equal for the same size and mtime', () => {
    expect(sidesEqual(file, object)).toBe('equal');
  });

  it('is different for different kinds or sizes, whatever else matches', () => {
    expect(sidesEqual(dir, object)).toBe('different');
    expect(sidesEqual(file, { ...object, size: 6 }, true)).toBe('different');
  });

  it('is equal for two directories, whatever their modes and sizes', () => {
    expect(sidesEqual(dir, { ...object, kind: 'dir', size: 0, meta: { mode: 0o040700 } })).toBe('equal');
  });

  it('is unknown for a single-part ETag with another mtime, until the checksum answers', () => {
    const touched = { ...object, meta: { mtimeNs: '1700000001000000000' } };
    expect(sidesEqual(file, touched)).toBe('unknown');
    expect(sidesEqual(file, touched, true)).toBe('equal');
    expect(sidesEqual(file, touched, false)).toBe('different');
  });

  it('is different for a multipart ETag with another mtime', () => {
    const multipart = { ...object, etag: '9b2cf535f27731c974343645a3985328-12', meta: { mtimeNs: '1' } };
    expect(sidesEqual(file, multipart)).toBe('different');
  });

  it('trusts a given content answer over timestamps', () => {
    expect(sidesEqual(file, object, false)).toBe('different');
  });

  it('uses LastModified to the millisecond only when the object has no file-mtime', () => {
    const foreign = { ...object, meta: {}, lastModified: new Date(T0_MS).toISOString() };
    expect(sidesEqual({ ...file, mtimeNs: '1700000000000999999' }, foreign)).toBe('equal');
    expect(sidesEqual({ ...file, mtimeNs: '1700000000001000000' }, foreign)).toBe('unknown');
  });

  it('never throws on unreadable times', () => {
    expect(sidesEqual({ ...file, mtimeNs: 'soon' }, object)).toBe('unknown');
    expect(sidesEqual(file, { ...object, meta: { mtimeNs: 'x' } })).toBe('unknown');
    expect(sidesEqual(file, { ...object, meta: {}, lastModified: 'never' })).toBe('unknown');
  });
});

describe('isRacy', () => {
  const at = (msAfterT0: number) => T0_MS + msAfterT0;

  it('is racy when the file changed within the granularity of the moment we looked', () => {
    expect(isRacy(file, at(0))).toBe(true);
    expect(isRacy(file, at(9))).toBe(true);
  });

  it('is settled once the granularity has passed', () => {
    expect(isRacy(file, at(10))).toBe(false);
    expect(isRacy(file, at(60_000))).toBe(false);
  });

  it('looks at whichever of ctime and mtime is later', () => {
    const chmodded = { mtimeNs: T0_NS, ctimeNs: '1700000005000000000' };
    expect(isRacy(chmodded, at(5_005))).toBe(true);
    expect(isRacy(chmodded, at(5_010))).toBe(false);
  });

  it('takes a coarser granularity (e.g. 2 s on FAT, 1 s on some NFS servers)', () => {
    expect(isRacy(file, at(1_500), 2_000)).toBe(true);
    expect(isRacy(file, at(2_000), 2_000)).toBe(false);
  });

  it('is racy for a change in the future (clock skew) or unreadable times', () => {
    expect(isRacy(file, at(-1_000))).toBe(true);
    expect(isRacy({ mtimeNs: 'x', ctimeNs: T0_NS }, at(60_000))).toBe(true);
    expect(isRacy(file, Number.NaN)).toBe(true);
  });
});

describe('snapshots', () => {
  it('keeps only what the ledger compares', () => {
    expect(toFsSnapshot({ ...file, linkTarget: 'x' })).toEqual({
      size: 5,
      mtimeNs: T0_NS,
      ctimeNs: T0_NS,
      ino: '100',
      mode: 0o100644,
    });
    expect(toS3Snapshot(object)).toEqual({
      etag: object.etag,
      lastModified: object.lastModified,
      size: 5,
      metaHash: 'm1',
    });
  });

  it('keeps the versionId when there is one', () => {
    expect(toS3Snapshot({ ...object, versionId: 'v1' })).toMatchObject({ versionId: 'v1' });
  });
});
