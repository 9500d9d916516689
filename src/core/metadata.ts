import { createHash } from 'node:crypto';
import type { FsState, NodeKind, PosixMeta } from './types.ts';

/**
 * POSIX metadata as S3 user metadata (docs/architecture.md §3), in the convention FSx,
 * DataSync, File Gateway and S3 Files share. Keys are given without the
 * `x-amz-meta-` prefix and in lower case, as the SDK hands them over.
 */

export const DEFAULT_FILE_MODE = 0o100644;
export const DEFAULT_DIR_MODE = 0o040755;
export const SYMLINK_MODE = 0o120777;

/** The file-type bits of st_mode (S_IFMT) and the types bucketlink knows. */
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export const USER_AGENT = 'bucketlink';

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const MAX_ID = 0xffff_ffff;
const MAX_MODE = 0o177777;

/**
 * The user metadata bucketlink writes for a file, directory or symlink:
 * `file-permissions` (octal st_mode with a leading 0), `file-owner`,
 * `file-group`, `file-mtime` and `file-atime` (`<ns>ns`), `user-agent`.
 */
export function encodePosixMeta(
  fs: Pick<FsState, 'mode' | 'uid' | 'gid' | 'mtimeNs'> & { atimeNs?: string },
): Record<string, string> {
  return {
    'file-permissions': `0${fs.mode.toString(8)}`,
    'file-owner': String(fs.uid),
    'file-group': String(fs.gid),
    'file-mtime': `${fs.mtimeNs}ns`,
    ...(fs.atimeNs !== undefined ? { 'file-atime': `${fs.atimeNs}ns` } : {}),
    'user-agent': USER_AGENT,
  };
}

function lowerCaseKeys(metadata: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') continue;
    out.set(key.toLowerCase().replace(/^x-amz-meta-/, ''), value.trim());
  }
  return out;
}

function parseId(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined;
  const id = Number(value);
  return id <= MAX_ID ? id : undefined;
}

function withinModeRange(mode: number): number | undefined {
  return mode <= MAX_MODE ? mode : undefined;
}

/** bucketlink's `file-permissions`: always octal. */
function parseOctalMode(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-7]{1,7}$/.test(value)) return undefined;
  return withinModeRange(Number.parseInt(value, 8));
}

/**
 * s3fs writes `mode` as a decimal st_mode (`33188`); rclone writes it octal
 * with a leading zero (`0100644`). A leading zero tells them apart, since a
 * decimal st_mode of a real file never starts with 0.
 */
function parseForeignMode(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^0[0-7]+$/.test(value)) return withinModeRange(Number.parseInt(value, 8));
  if (/^\d{1,6}$/.test(value)) return withinModeRange(Number(value));
  return undefined;
}

/** `<ns>ns` is nanoseconds; a bare integer is milliseconds (older writers). */
function parseBucketlinkTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ns = /^(\d{1,25})ns$/.exec(value);
  if (ns) return BigInt(ns[1]!).toString();
  if (/^\d{1,22}$/.test(value)) return (BigInt(value) * NS_PER_MS).toString();
  return undefined;
}

/** s3fs and rclone write `mtime` in seconds, rclone with up to nine decimals. */
function parseSecondsTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d{1,16})(?:\.(\d+))?$/.exec(value);
  if (!match) return undefined;
  const fraction = (match[2] ?? '').slice(0, 9).padEnd(9, '0');
  return (BigInt(match[1]!) * NS_PER_S + BigInt(fraction)).toString();
}

/**
 * Reads POSIX metadata from an object's user metadata. bucketlink's own
 * headers win; s3fs/rclone headers (`mode`, `uid`, `gid`, `mtime`) fill in
 * what they leave out. A value that does not parse is ignored, never
 * thrown: metadata is written by anyone with PutObject.
 */
export function decodePosixMeta(metadata: Record<string, string> | undefined): PosixMeta {
  const headers = lowerCaseKeys(metadata ?? {});
  const meta: PosixMeta = {};
  const mode = parseOctalMode(headers.get('file-permissions')) ?? parseForeignMode(headers.get('mode'));
  const uid = parseId(headers.get('file-owner')) ?? parseId(headers.get('uid'));
  const gid = parseId(headers.get('file-group')) ?? parseId(headers.get('gid'));
  const mtimeNs = parseBucketlinkTime(headers.get('file-mtime')) ?? parseSecondsTime(headers.get('mtime'));
  const atimeNs = parseBucketlinkTime(headers.get('file-atime'));
  if (mode !== undefined) meta.mode = mode;
  if (uid !== undefined) meta.uid = uid;
  if (gid !== undefined) meta.gid = gid;
  if (mtimeNs !== undefined) meta.mtimeNs = mtimeNs;
  if (atimeNs !== undefined) meta.atimeNs = atimeNs;
  return meta;
}

/**
 * A short, stable hash of the metadata that matters for sync: permissions,
 * owner, group and mtime as decoded (so header order, case and spelling do
 * not matter). atime and user-agent are left out on purpose: reading a file
 * must not look like a change, while a metadata-only rewrite (a chmod that
 * keeps the ETag) must.
 */
export function metaHash(metadata: Record<string, string> | undefined): string {
  const meta = decodePosixMeta(metadata);
  const canonical = [meta.mode ?? '', meta.uid ?? '', meta.gid ?? '', meta.mtimeNs ?? ''].join('|');
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/** What an object is: a key ending in `/` is a directory marker, otherwise the mode's type bits decide. */
export function objectKind(key: string, meta: PosixMeta): NodeKind {
  if (key.endsWith('/')) return 'dir';
  const type = (meta.mode ?? DEFAULT_FILE_MODE) & S_IFMT;
  if (type === S_IFLNK) return 'symlink';
  if (type === S_IFDIR) return 'dir';
  return 'file';
}
