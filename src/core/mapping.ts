import { ExportPathSizeTooLongError, PathNotPosixCompliantError } from './errors.ts';
import type { NodeKind } from './types.ts';

/** Linux NAME_MAX: the longest file name, in bytes. */
export const MAX_SEGMENT_BYTES = 255;
/** Linux PATH_MAX: the longest path, in bytes. */
export const MAX_PATH_BYTES = 4096;
/** S3's limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/**
 * Why a relative path is unsafe to write under an association root, or
 * undefined when it is safe. Shared by key → path mapping and by the checks
 * on file-system paths, so both sides refuse the same things.
 */
export function unsafePathReason(path: string): string | undefined {
  if (path.includes('\0')) return 'it contains a NUL character';
  if (path.startsWith('/')) return 'it is absolute (starts with "/")';
  for (const segment of path.split('/')) {
    if (segment === '') return 'it has an empty segment ("a//b" or a trailing "/")';
    if (segment === '.' || segment === '..') return `it has a "${segment}" segment`;
    if (utf8Bytes(segment) > MAX_SEGMENT_BYTES) {
      return `a segment is longer than ${MAX_SEGMENT_BYTES} bytes (${utf8Bytes(segment)})`;
    }
  }
  if (utf8Bytes(path) > MAX_PATH_BYTES)
    return `it is longer than ${MAX_PATH_BYTES} bytes (${utf8Bytes(path)})`;
  return undefined;
}

/**
 * Maps an S3 key under `prefix` to a path relative to the association root.
 * A trailing `/` marks a directory. Keys are raw: EventBridge never encodes
 * them, so nothing is URL-decoded here (`%41` stays `%41`, `+` stays `+`).
 * The key equal to the prefix is the root itself: `{ path: '', kind: 'dir' }`.
 *
 * @throws PathNotPosixCompliantError when the key is outside the prefix or
 *   does not map to a safe relative path; such keys are never written.
 */
export function keyToPath(key: string, prefix: string): { path: string; kind: 'file' | 'dir' } {
  if (!key.startsWith(prefix)) {
    throw new PathNotPosixCompliantError(`key "${key}" is not under the prefix "${prefix}"`);
  }
  const relative = key.slice(prefix.length);
  if (relative === '') return { path: '', kind: 'dir' };
  const kind = relative.endsWith('/') ? 'dir' : 'file';
  const path = kind === 'dir' ? relative.slice(0, -1) : relative;
  const reason = unsafePathReason(path);
  if (reason !== undefined) {
    throw new PathNotPosixCompliantError(`key "${key}" is not a safe POSIX path: ${reason}`);
  }
  return { path, kind };
}

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when the string holds U+FFFD or a lone surrogate: a name that was not valid UTF-8 on disk. */
function hasInvalidUnicode(s: string): boolean {
  return s.includes('\uFFFD') || LONE_SURROGATE.test(s);
}

/**
 * Maps a path relative to the association root to its S3 key. Directories
 * get a trailing `/` (their marker); the root ('') maps to the prefix.
 *
 * @throws ExportPathSizeTooLongError when the name was not valid UTF-8
 *   (Node shows such bytes as U+FFFD, which would export under the wrong
 *   name) or the key would exceed 1024 bytes.
 */
export function pathToKey(path: string, prefix: string, kind: NodeKind): string {
  if (hasInvalidUnicode(path)) {
    throw new ExportPathSizeTooLongError(`path "${path}" is not valid UTF-8 and cannot be a key`);
  }
  if (path === '') return prefix;
  const key = prefix + path + (kind === 'dir' ? '/' : '');
  const bytes = utf8Bytes(key);
  if (bytes > MAX_KEY_BYTES) {
    throw new ExportPathSizeTooLongError(`key for "${path}" is ${bytes} bytes; S3 allows ${MAX_KEY_BYTES}`);
  }
  return key;
}

/** The parent of a relative path: `a/b/c` → `a/b`, `a` → '' (the association root). */
/** Whether a path maps to a key S3 (and the ledger's sort key) can hold. */
export function hasValidKey(path: string, prefix: string, kind: NodeKind = 'file'): boolean {
  try {
    pathToKey(path, prefix, kind);
    return true;
  } catch {
    return false;
  }
}

export function parentPath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The last segment of a relative path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins relative path parts with `/`, ignoring empty parts and stray slashes at their ends. */
export function joinPath(...parts: string[]): string {
  return parts
    .map((part) => part.replace(/^\/+|\/+$/g, ''))
    .filter((part) => part !== '')
    .join('/');
}
