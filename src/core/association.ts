import { posix } from 'node:path';
import { z } from 'zod';
import { InvalidAssociationError, MalformedEventError } from './errors.ts';
import { keyToPath, unsafePathReason } from './mapping.ts';
import type { Association, ChangeKind, S3Location } from './types.ts';

/** The file each association root holds so an unmounted root is never mistaken for an emptied one. */
export const SENTINEL_NAME = '.bucketlink';

const S3_SCHEME = 's3://';
/** Every change kind a policy can list. */
export const ALL_CHANGES: readonly ChangeKind[] = ['NEW', 'CHANGED', 'DELETED'];

/**
 * Why a bucket name is invalid, or undefined. S3's rules, plus `_` for names
 * created under the legacy us-east-1 rules, which still exist.
 */
function bucketNameProblem(bucket: string): string | undefined {
  if (bucket.length < 3 || bucket.length > 63) return 'must be 3 to 63 characters long';
  if (!/^[a-z0-9._-]+$/.test(bucket)) return 'may hold only lower-case letters, digits, ".", "-" and "_"';
  if (!/^[a-z0-9].*[a-z0-9]$/.test(bucket)) return 'must start and end with a letter or digit';
  if (bucket.includes('..')) return 'must not hold two adjacent periods';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(bucket)) return 'must not look like an IP address';
  return undefined;
}

/**
 * Parses `s3://bucket/`, `s3://bucket` or `s3://bucket/prefix/` into a
 * location whose prefix is '' or ends with `/`.
 *
 * @throws InvalidAssociationError naming what is wrong.
 */
export function parseDataRepositoryPath(s: string): S3Location {
  if (!s.startsWith(S3_SCHEME)) {
    throw new InvalidAssociationError(`data repository path "${s}" must start with ${S3_SCHEME}`);
  }
  const rest = s.slice(S3_SCHEME.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1);
  const problem = bucketNameProblem(bucket);
  if (problem !== undefined) {
    throw new InvalidAssociationError(`data repository path "${s}": bucket name "${bucket}" ${problem}`);
  }
  if (prefix !== '') {
    if (!prefix.endsWith('/')) {
      throw new InvalidAssociationError(`data repository path "${s}": a prefix must end with "/"`);
    }
    const reason = unsafePathReason(prefix.slice(0, -1));
    if (reason !== undefined) {
      throw new InvalidAssociationError(`data repository path "${s}": the prefix is not usable: ${reason}`);
    }
    if (Buffer.byteLength(prefix) > 1024) {
      throw new InvalidAssociationError(`data repository path "${s}": the prefix is longer than 1024 bytes`);
    }
  }
  return { bucket, prefix };
}

/** The canonical `s3://bucket/prefix/` form of a location. */
export function formatDataRepositoryPath(location: S3Location): string {
  return `${S3_SCHEME}${location.bucket}/${location.prefix}`;
}

/**
 * Normalizes a file-system path of an association: it must start with `/`;
 * a trailing `/` is dropped (except for `/` itself).
 *
 * @throws InvalidAssociationError for `.`/`..`/empty segments, NUL, or a
 *   relative path.
 */
export function normalizeFileSystemPath(p: string): string {
  if (!p.startsWith('/')) {
    throw new InvalidAssociationError(`file system path "${p}" must start with "/"`);
  }
  if (p === '/') return p;
  const trimmed = p.endsWith('/') ? p.slice(0, -1) : p;
  const reason = unsafePathReason(trimmed.slice(1));
  if (reason !== undefined) {
    throw new InvalidAssociationError(`file system path "${p}" is not usable: ${reason}`);
  }
  return trimmed;
}

/** Wraps a throwing normalizer as a zod transform, so schema errors carry its message. */
function normalizedWith<T>(normalize: (s: string) => T) {
  return (value: string, ctx: z.RefinementCtx): T => {
    try {
      return normalize(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  };
}

/** A list of change kinds, deduplicated into the canonical order. */
const changeKinds = z
  .array(z.enum(ALL_CHANGES as [ChangeKind, ...ChangeKind[]]))
  .transform((kinds) => ALL_CHANGES.filter((kind) => kinds.includes(kind)));

const conflictPolicy = z.enum(['KEEP_BOTH', 'S3_WINS', 'FS_WINS', 'NEWER']);

/**
 * A create request (FSx CreateDataRepositoryAssociation). Paths come out
 * normalized (`/logs`, `s3://bucket/prefix/`); policies default as FSx.
 */
export const createAssociationInput = z.object({
  fileSystemPath: z.string().transform(normalizedWith(normalizeFileSystemPath)),
  dataRepositoryPath: z
    .string()
    .transform(normalizedWith((s) => formatDataRepositoryPath(parseDataRepositoryPath(s)))),
  autoImport: changeKinds.default(() => [...ALL_CHANGES]),
  autoExport: changeKinds.default(() => [...ALL_CHANGES]),
  batchImportMetaDataOnCreate: z.boolean().default(true),
  conflictPolicy: conflictPolicy.default('KEEP_BOTH'),
});

export type CreateAssociationInput = z.output<typeof createAssociationInput>;

/** A field that may not be given: paths are immutable, as in FSx. */
function immutable(field: string) {
  return z
    .never({
      error: `${field} cannot be changed: paths are immutable after creation (delete the association and create a new one)`,
    })
    .optional();
}

/**
 * An update request (FSx UpdateDataRepositoryAssociation): policies only.
 * The checks live on the fields so the shape can be spread into a larger
 * request schema without losing them.
 */
export const updateAssociationInput = z.object({
  autoImport: changeKinds.optional(),
  autoExport: changeKinds.optional(),
  conflictPolicy: conflictPolicy.optional(),
  fileSystemPath: immutable('fileSystemPath'),
  dataRepositoryPath: immutable('dataRepositoryPath'),
});

export type UpdateAssociationInput = z.output<typeof updateAssociationInput>;

/** Whether two normalized file-system paths are equal or one lies inside the other. */
function fileSystemPathsNest(a: string, b: string): boolean {
  if (a === b || a === '/' || b === '/') return true;
  return a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** Whether two S3 locations share any key. Prefixes end with `/`, so a string prefix is a path prefix. */
function locationsOverlap(a: S3Location, b: S3Location): boolean {
  return a.bucket === b.bucket && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));
}

/**
 * Checks a new association against the existing ones, with FSx's rules:
 * file-system paths never equal or nest in each other, S3 locations never
 * overlap, and `/` can only be the sole association.
 *
 * @throws InvalidAssociationError naming the conflicting association.
 */
export function validateNewAssociation(
  candidate: { fileSystemPath: string; dataRepositoryPath: string },
  existing: Association[],
): void {
  const fileSystemPath = normalizeFileSystemPath(candidate.fileSystemPath);
  const location = parseDataRepositoryPath(candidate.dataRepositoryPath);
  for (const other of existing) {
    const id = other.associationId;
    if (fileSystemPath === '/' || other.fileSystemPath === '/') {
      throw new InvalidAssociationError(
        `file system path "/" can only be used by the only association of a file system; ${id} links ${other.fileSystemPath}`,
      );
    }
    if (fileSystemPathsNest(fileSystemPath, other.fileSystemPath)) {
      throw new InvalidAssociationError(
        `file system path ${fileSystemPath} overlaps ${other.fileSystemPath} of association ${id}`,
      );
    }
    if (locationsOverlap(location, parseDataRepositoryPath(other.dataRepositoryPath))) {
      throw new InvalidAssociationError(
        `data repository path ${formatDataRepositoryPath(location)} overlaps ${other.dataRepositoryPath} of association ${id}`,
      );
    }
  }
}

/** Where an association lives on this machine: the file-system root joined with its path. */
export function associationRoot(
  fileSystemRoot: string,
  association: Pick<Association, 'fileSystemPath'>,
): string {
  const joined = posix.join(fileSystemRoot, association.fileSystemPath);
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/**
 * The association that covers an S3 key, and the relative path it maps to.
 * Undefined when no association covers the key, for the prefix's own marker
 * (the root) and for the root's sentinel, which is never synced.
 *
 * @throws PathNotPosixCompliantError for a covered key that is not a safe path.
 */
export function findAssociationForKey(
  associations: Association[],
  bucket: string,
  key: string,
): { association: Association; path: string; kind: 'file' | 'dir' } | undefined {
  let best: { association: Association; prefix: string } | undefined;
  for (const association of associations) {
    const location = parseDataRepositoryPath(association.dataRepositoryPath);
    if (location.bucket !== bucket || !key.startsWith(location.prefix)) continue;
    if (!best || location.prefix.length > best.prefix.length) best = { association, prefix: location.prefix };
  }
  if (!best || key === best.prefix) return undefined;
  const { path, kind } = keyToPath(key, best.prefix);
  if (path === SENTINEL_NAME) return undefined;
  return { association: best.association, path, kind };
}

/**
 * The association whose file-system path holds `fsPath` (relative to the
 * file-system root, with a leading `/`), at a segment boundary, and the path
 * relative to it. Undefined when none does, for the association root itself
 * and for its sentinel.
 *
 * @throws MalformedEventError when the path is not normalized (`.`, `..`,
 *   empty segments): events are never trusted to be clean.
 */
export function findAssociationForFsPath(
  associations: Association[],
  fsPath: string,
): { association: Association; path: string } | undefined {
  let best: { association: Association; path: string } | undefined;
  let bestLength = -1;
  for (const association of associations) {
    const root = association.fileSystemPath;
    let path: string | undefined;
    if (root === '/') path = fsPath.startsWith('/') ? fsPath.slice(1) : undefined;
    else if (fsPath === root || fsPath === `${root}/`) path = '';
    else if (fsPath.startsWith(`${root}/`)) path = fsPath.slice(root.length + 1);
    if (path === undefined || root.length <= bestLength) continue;
    best = { association, path };
    bestLength = root.length;
  }
  if (!best) return undefined;
  const path = best.path.endsWith('/') ? best.path.slice(0, -1) : best.path;
  if (path === '' || path === SENTINEL_NAME) return undefined;
  const reason = unsafePathReason(path);
  if (reason !== undefined)
    throw new MalformedEventError(`file system path "${fsPath}" is not usable: ${reason}`);
  return { association: best.association, path };
}
