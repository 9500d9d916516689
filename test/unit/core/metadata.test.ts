import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DIR_MODE,
  DEFAULT_FILE_MODE,
  decodePosixMeta,
  encodePosixMeta,
  metaHash,
  objectKind,
  SYMLINK_MODE,
} from '../../../src/core/metadata.ts';

const file = { mode: 0o100644, uid: 1000, gid: 100, mtimeNs: '1700000000123456789' };

describe('encodePosixMeta', () => {
  it('writes the FSx/DataSync headers with an octal mode and nanosecond mtime', () => {
    expect(encodePosixMeta(file)).toEqual({
      'file-permissions': '0100644',
      'file-owner': '1000',
      'file-group': '100',
      'file-mtime': '1700000000123456789ns',
      'user-agent': 'bucketlink',
    });
  });

  it.each([
    [DEFAULT_DIR_MODE, '040755'],
    [SYMLINK_MODE, '0120777'],
    [0o104755, '0104755'],
  ])('writes mode %o as %s', (mode, text) => {
    expect(encodePosixMeta({ ...file, mode })['file-permissions']).toBe(text);
  });

  it('writes atime only when given', () => {
    expect(encodePosixMeta({ ...file, atimeNs: '1700000000999999999' })['file-atime']).toBe(
      '1700000000999999999ns',
    );
    expect(encodePosixMeta(file)).not.toHaveProperty('file-atime');
  });
});

describe('decodePosixMeta', () => {
  it('round-trips what encodePosixMeta writes', () => {
    const encoded = encodePosixMeta({ ...file, atimeNs: '1700000000000000001' });
    expect(decodePosixMeta(encoded)).toEqual({ ...file, atimeNs: '1700000000000000001' });
  });

  it.each([DEFAULT_FILE_MODE, DEFAULT_DIR_MODE, SYMLINK_MODE, 0o100600, 0o41777])(
    'round-trips mode %o',
    (mode) => {
      expect(decodePosixMeta(encodePosixMeta({ ...file, mode })).mode).toBe(mode);
    },
  );

  it('reads nothing from an object without metadata', () => {
    expect(decodePosixMeta(undefined)).toEqual({});
    expect(decodePosixMeta({})).toEqual({});
  });

  it('reads a file-mtime without "ns" as milliseconds', () => {
    expect(decodePosixMeta({ 'file-mtime': '1700000000123' }).mtimeNs).toBe('1700000000123000000');
  });

  it('ignores header case and an x-amz-meta- prefix', () => {
    expect(decodePosixMeta({ 'X-Amz-Meta-File-Owner': '7', 'File-Group': '8' })).toEqual({ uid: 7, gid: 8 });
  });

  it('reads s3fs headers: decimal mode, uid, gid and mtime in seconds', () => {
    expect(decodePosixMeta({ mode: '33188', uid: '1000', gid: '1000', mtime: '1700000000' })).toEqual({
      mode: 0o100644,
      uid: 1000,
      gid: 1000,
      mtimeNs: '1700000000000000000',
    });
  });

  it('reads rclone headers: octal mode and fractional seconds', () => {
    expect(decodePosixMeta({ mode: '0100664', mtime: '1700000000.123456789' })).toEqual({
      mode: 0o100664,
      mtimeNs: '1700000000123456789',
    });
  });

  it('pads and truncates fractional seconds to nanoseconds', () => {
    expect(decodePosixMeta({ mtime: '1700000000.5' }).mtimeNs).toBe('1700000000500000000');
    expect(decodePosixMeta({ mtime: '1700000000.1234567891' }).mtimeNs).toBe('1700000000123456789');
  });

  it('prefers bucketlink headers over s3fs/rclone ones', () => {
    const meta = decodePosixMeta({
      'file-permissions': '0100600',
      mode: '33188',
      'file-owner': '1',
      uid: '2',
      'file-mtime': '5ns',
      mtime: '9',
    });
    expect(meta).toMatchObject({ mode: 0o100600, uid: 1, mtimeNs: '5' });
  });

  it('falls back to s3fs/rclone headers field by field', () => {
    expect(decodePosixMeta({ 'file-owner': '1', gid: '2' })).toEqual({ uid: 1, gid: 2 });
  });

  it.each([
    ['file-permissions', '0100899'],
    ['file-permissions', 'rw-r--r--'],
    ['file-permissions', '07777777'],
    ['file-owner', '-1'],
    ['file-owner', 'root'],
    ['file-owner', '99999999999'],
    ['file-group', '1.5'],
    ['file-mtime', 'yesterday'],
    ['file-mtime', '-5ns'],
    ['file-mtime', '12.5ns'],
    ['file-atime', 'nsns'],
    ['mode', '0o644'],
    ['mode', '9999999'],
    ['uid', ''],
    ['mtime', '1e9'],
    ['mtime', '2024-01-01'],
  ])('ignores a garbage %s of %j', (header, value) => {
    expect(decodePosixMeta({ [header]: value })).toEqual({});
  });

  it('falls back to s3fs headers when the bucketlink one is garbage', () => {
    expect(decodePosixMeta({ 'file-permissions': 'bogus', mode: '16877' }).mode).toBe(0o40755);
  });
});

describe('metaHash', () => {
  const encoded = encodePosixMeta(file);

  it('is a short hex string, stable across calls', () => {
    expect(metaHash(encoded)).toMatch(/^[0-9a-f]{16}$/);
    expect(metaHash(encoded)).toBe(metaHash({ ...encoded }));
  });

  it('does not depend on header order', () => {
    const reversed = Object.fromEntries(Object.entries(encoded).reverse());
    expect(metaHash(reversed)).toBe(metaHash(encoded));
  });

  it.each([
    ['file-permissions', '0100600'],
    ['file-owner', '0'],
    ['file-group', '0'],
    ['file-mtime', '1ns'],
  ])('changes when %s changes (a metadata-only rewrite is a change)', (header, value) => {
    expect(metaHash({ ...encoded, [header]: value })).not.toBe(metaHash(encoded));
  });

  it('ignores atime and user-agent, so reading a file is not a change', () => {
    expect(metaHash({ ...encoded, 'file-atime': '42ns', 'user-agent': 'other-tool' })).toBe(
      metaHash(encoded),
    );
  });

  it('treats missing and empty metadata alike', () => {
    expect(metaHash(undefined)).toBe(metaHash({}));
    expect(metaHash({})).not.toBe(metaHash(encoded));
  });
});

describe('objectKind', () => {
  it.each([
    ['a key ending in a slash', 'a/', {}, 'dir'],
    ['a slash key even with a file mode', 'a/', { mode: 0o100644 }, 'dir'],
    ['a symlink mode', 'a', { mode: SYMLINK_MODE }, 'symlink'],
    ['a directory mode', 'a', { mode: DEFAULT_DIR_MODE }, 'dir'],
    ['a file mode', 'a', { mode: 0o100600 }, 'file'],
    ['a mode without type bits', 'a', { mode: 0o644 }, 'file'],
    ['no metadata', 'a', {}, 'file'],
  ] as const)('classifies %s', (_label, key, meta, kind) => {
    expect(objectKind(key, meta)).toBe(kind);
  });
});
