import { describe, expect, it } from 'vitest';
import { decideAction } from '../../../src/core/decide.ts';
import type { FsState, LedgerEntry, S3State, SyncPolicy } from '../../../src/core/types.ts';

// Found by the latency benchmark: an object without file-mtime, imported, then
// overwritten with the same size within the same second.
const lastModified = '2026-11-24T12:00:00.000Z';
const mtimeNs = (BigInt(Date.parse(lastModified)) * 1_000_000n).toString();
const policy: SyncPolicy = {
  autoImport: ['NEW', 'CHANGED', 'DELETED'],
  autoExport: ['NEW', 'CHANGED', 'DELETED'],
  conflictPolicy: 'KEEP_BOTH',
};
const fs: FsState = {
  kind: 'file',
  size: 4,
  mtimeNs,
  ctimeNs: mtimeNs,
  ino: '7',
  mode: 0o100644,
  uid: 0,
  gid: 0,
};
const imported: S3State = {
  kind: 'file',
  key: 'a.txt',
  etag: '0cc175b9c0f1b6a831c399e269772661',
  lastModified,
  size: 4,
  metaHash: 'none',
  meta: {},
};
const base: LedgerEntry = {
  associationId: 'dra-0',
  path: 'a.txt',
  kind: 'file',
  state: 'present',
  fs: { size: 4, mtimeNs, ctimeNs: mtimeNs, ino: '7', mode: 0o100644 },
  s3: { etag: imported.etag, lastModified, size: 4, metaHash: 'none' },
  rev: 1,
  syncedAtMs: Date.parse(lastModified),
};
const overwritten: S3State = { ...imported, etag: '92eb5ffee6ae2fec3ad71c777531578f' };

describe('an object without file-mtime overwritten within the second of its import', () => {
  it('is not taken as equal to the imported file by its LastModified: the bytes are checked', () => {
    expect(decideAction({ base, fs, s3: overwritten, policy, rootMounted: true })).toMatchObject({
      action: 'checksum',
    });
  });

  it('imports the overwrite once the checksum says the bytes differ', () => {
    expect(
      decideAction({ base, fs, s3: overwritten, policy, rootMounted: true, contentEqual: false }),
    ).toMatchObject({ action: 'import', reason: 's3-changed' });
  });

  it('still matches by LastModified when nothing was synced before (first association)', () => {
    expect(decideAction({ base: undefined, fs, s3: imported, policy, rootMounted: true })).toMatchObject({
      action: 'record',
      reason: 'both-equal',
    });
  });
});
