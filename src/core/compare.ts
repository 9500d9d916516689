import type { FsSnapshot, FsState, LedgerEntry, NodeKind, S3Snapshot, S3State } from './types.ts';

/**
 * How the two sides and the ledger's merge base compare: the questions
 * `decideAction` asks before it looks at the table. Pure and total: bad
 * timestamps never throw, they just fail to match.
 */

/** How one side moved relative to the merge base. `new` and `absent` only occur without a base. */
export type SideChange = 'absent' | 'new' | 'same' | 'changed' | 'deleted';

const NS_PER_MS = 1_000_000n;
/** Node's utimes takes seconds as a double, so a written mtime can be off by a few hundred ns. */
const MTIME_TOLERANCE_NS = 1000n;
const SINGLE_PART_ETAG = /^[0-9a-f]{32}$/i;

/** A decimal nanosecond string as a bigint; undefined for anything else, so bad input never throws. */
export function nanoseconds(value: string | undefined): bigint | undefined {
  return value !== undefined && /^-?\d{1,30}$/.test(value) ? BigInt(value) : undefined;
}

/** An ISO 8601 time as nanoseconds since the epoch; undefined when it does not parse. */
export function millisecondsToNs(iso: string): bigint | undefined {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? BigInt(ms) * NS_PER_MS : undefined;
}

/** Whether the file system still holds what the ledger recorded. Directories compare mode only. */
export function fsUnchanged(base: FsSnapshot, fs: FsState): boolean {
  if (fs.kind === 'dir') return base.mode === fs.mode;
  return (
    base.size === fs.size &&
    base.mtimeNs === fs.mtimeNs &&
    base.ctimeNs === fs.ctimeNs &&
    base.ino === fs.ino &&
    base.mode === fs.mode
  );
}

/** What an agent saw of a path when it reported it (fields of a FileSystemChange). */
export interface ObservedStat {
  kind?: NodeKind;
  size?: number;
  mtimeNs?: string;
  ctimeNs?: string;
  mode?: number;
  ino?: string;
}

/**
 * Whether an agent's report shows exactly the node the ledger recorded as
 * synced: bucketlink's own write coming back as a change. Any later change
 * moves ctime and is reported again, so dropping this report loses nothing.
 * A report without the full stat never matches.
 */
export function observedMatchesBase(seen: ObservedStat, base: LedgerEntry | undefined): boolean {
  if (base?.state !== 'present' || !base.fs || seen.kind !== base.kind) return false;
  const { size, mtimeNs, ctimeNs, mode, ino } = seen;
  if (size === undefined || mtimeNs === undefined || ctimeNs === undefined) return false;
  if (mode === undefined || ino === undefined) return false;
  return fsUnchanged(base.fs, { kind: seen.kind, size, mtimeNs, ctimeNs, mode, ino, uid: 0, gid: 0 });
}

/**
 * Whether S3 still holds what the ledger recorded. The metadata hash is
 * compared because a metadata-only rewrite (CopyObject onto itself) keeps
 * the ETag; versionIds only when both sides have one (versioning may have
 * been turned on since).
 */
export function s3Unchanged(base: S3Snapshot, s3: S3State): boolean {
  const versionsAgree = !base.versionId || !s3.versionId || base.versionId === s3.versionId;
  return base.etag === s3.etag && versionsAgree && base.metaHash === s3.metaHash && base.size === s3.size;
}

function mtimesMatch(fs: FsState, s3: S3State, lastModifiedCounts: boolean): boolean {
  const fsNs = nanoseconds(fs.mtimeNs);
  if (fsNs === undefined) return false;
  if (s3.meta.mtimeNs !== undefined) {
    const s3Ns = nanoseconds(s3.meta.mtimeNs);
    if (s3Ns === undefined) return false;
    const delta = fsNs > s3Ns ? fsNs - s3Ns : s3Ns - fsNs;
    return delta <= MTIME_TOLERANCE_NS;
  }
  // No file-mtime (uploaded by another tool): LastModified is all there is, to the millisecond.
  // Its one-second resolution cannot tell a same-size overwrite within the second of an
  // import from the imported copy, so it only counts where nothing was synced before.
  if (!lastModifiedCounts) return false;
  const lastModifiedNs = millisecondsToNs(s3.lastModified);
  return lastModifiedNs !== undefined && lastModifiedNs / NS_PER_MS === fsNs / NS_PER_MS;
}

/**
 * Whether both sides hold the same thing. Directories are equal by kind;
 * files and symlinks need the same size and either matching mtimes or the
 * caller's content check. 'unknown' asks the caller for that check, which
 * only a single-part ETag (an MD5) can answer: a multipart ETag is an MD5 of
 * part MD5s and never equals a file's MD5. A given `contentEqual` is
 * stronger evidence than timestamps and decides on its own.
 */
export function sidesEqual(
  fs: FsState,
  s3: S3State,
  contentEqual?: boolean,
  options: { lastModifiedCounts?: boolean } = {},
): 'equal' | 'different' | 'unknown' {
  if (fs.kind !== s3.kind) return 'different';
  if (fs.kind === 'dir') return 'equal';
  if (fs.size !== s3.size) return 'different';
  if (contentEqual !== undefined) return contentEqual ? 'equal' : 'different';
  if (mtimesMatch(fs, s3, options.lastModifiedCounts ?? true)) return 'equal';
  return SINGLE_PART_ETAG.test(s3.etag) ? 'unknown' : 'different';
}

/**
 * Whether a file's last change is within the timestamp granularity of the
 * moment it was looked at: a rewrite in the same tick would leave size and
 * times unchanged, so such a snapshot must be re-checked before it is
 * trusted as a merge base. Unreadable times count as racy.
 */
export function isRacy(
  fs: Pick<FsSnapshot, 'ctimeNs' | 'mtimeNs'>,
  observedAtMs: number,
  granularityMs = 10,
): boolean {
  const ctime = nanoseconds(fs.ctimeNs);
  const mtime = nanoseconds(fs.mtimeNs);
  if (ctime === undefined || mtime === undefined || !Number.isFinite(observedAtMs)) return true;
  const observed = BigInt(Math.floor(observedAtMs)) * NS_PER_MS;
  const granularity = BigInt(Math.max(0, Math.ceil(granularityMs))) * NS_PER_MS;
  const settledBefore = observed - granularity;
  return ctime > settledBefore || mtime > settledBefore;
}

/** The part of a file-system stat the ledger keeps. */
export function toFsSnapshot(fs: FsState): FsSnapshot {
  return { size: fs.size, mtimeNs: fs.mtimeNs, ctimeNs: fs.ctimeNs, ino: fs.ino, mode: fs.mode };
}

/** The part of an object's HEAD the ledger keeps. */
export function toS3Snapshot(s3: S3State): S3Snapshot {
  return {
    etag: s3.etag,
    ...(s3.versionId ? { versionId: s3.versionId } : {}),
    lastModified: s3.lastModified,
    size: s3.size,
    metaHash: s3.metaHash,
  };
}

/** How the file system moved since the base. A side of another kind than the base's counts as changed. */
export function classifyFs(base: LedgerEntry | undefined, fs: FsState | undefined): SideChange {
  if (!base) return fs ? 'new' : 'absent';
  if (!fs) return 'deleted';
  return fs.kind === base.kind && base.fs !== undefined && fsUnchanged(base.fs, fs) ? 'same' : 'changed';
}

/** How S3 moved since the base. */
export function classifyS3(base: LedgerEntry | undefined, s3: S3State | undefined): SideChange {
  if (!base) return s3 ? 'new' : 'absent';
  if (!s3) return 'deleted';
  return s3.kind === base.kind && base.s3 !== undefined && s3Unchanged(base.s3, s3) ? 'same' : 'changed';
}
