/**
 * The domain's plain data. Everything in src/core takes and returns these;
 * adapters translate between them and the wire.
 */

export type NodeKind = 'file' | 'dir' | 'symlink';
export type ChangeKind = 'NEW' | 'CHANGED' | 'DELETED';
export type ConflictPolicy = 'KEEP_BOTH' | 'S3_WINS' | 'FS_WINS' | 'NEWER';
export type AssociationLifecycle =
  | 'CREATING'
  | 'AVAILABLE'
  | 'UPDATING'
  | 'MISCONFIGURED'
  | 'DELETING'
  | 'FAILED';

/** A data repository association: one file-system path linked to one S3 location. */
export interface Association {
  /** `dra-` followed by 17 hex digits, as FSx. */
  associationId: string;
  /** Absolute within the file system, starts with `/`, no trailing slash except `/` itself. */
  fileSystemPath: string;
  /** `s3://bucket/` or `s3://bucket/prefix/` (always ends with `/`). */
  dataRepositoryPath: string;
  autoImport: ChangeKind[];
  autoExport: ChangeKind[];
  batchImportMetaDataOnCreate: boolean;
  conflictPolicy: ConflictPolicy;
  lifecycle: AssociationLifecycle;
  failureDetails?: { message: string };
  /** ISO 8601. */
  creationTime: string;
}

/** Where an association lives in S3. `prefix` is '' or ends with '/'. */
export interface S3Location {
  bucket: string;
  prefix: string;
}

/** POSIX metadata as carried in S3 user metadata (docs/architecture.md §3). All optional: objects may carry none. */
export interface PosixMeta {
  /** Full st_mode including the type bits, e.g. 0o100644. */
  mode?: number;
  uid?: number;
  gid?: number;
  /** Nanoseconds since the epoch, decimal string (exceeds 2^53). */
  mtimeNs?: string;
  atimeNs?: string;
}

/** What the file system holds at a path now (lstat; symlinks are never followed). */
export interface FsState {
  kind: NodeKind;
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  /** Full st_mode including type bits. */
  mode: number;
  uid: number;
  gid: number;
  /** Symlinks only. */
  linkTarget?: string;
  /** Directories only: whether it has entries (other than the sentinel). */
  hasChildren?: boolean;
}

/** What S3 holds for a path now. */
export interface S3State {
  kind: NodeKind;
  /** The key that holds it (`a/` for a directory marker). */
  key: string;
  /** Without quotes. '' for an implied directory. */
  etag: string;
  versionId?: string;
  /** ISO 8601. */
  lastModified: string;
  size: number;
  /** Hash of the bucketlink-relevant metadata, so a metadata-only rewrite counts as a change. */
  metaHash: string;
  meta: PosixMeta;
  /** Directories only: true when no marker object exists and the directory is implied by children. */
  implied?: boolean;
}

/** The part of FsState the ledger remembers. */
export interface FsSnapshot {
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  mode: number;
}

/** The part of S3State the ledger remembers. */
export interface S3Snapshot {
  etag: string;
  versionId?: string;
  lastModified: string;
  size: number;
  metaHash: string;
}

/** One ledger row: the state both sides had when they were last known equal (the merge base). */
export interface LedgerEntry {
  associationId: string;
  /** Relative to the association root, `/`-separated, no leading or trailing slash. */
  path: string;
  kind: NodeKind;
  state: 'present' | 'deleted';
  fs?: FsSnapshot;
  s3?: S3Snapshot;
  /** Incremented on every write; every write is conditional on the rev read. */
  rev: number;
  syncedAtMs: number;
  /** Epoch seconds; tombstones only. Readers ignore expired rows (TTL deletion lags). */
  expiresAt?: number;
}

/** The policies of an association that `decideAction` needs. */
export type SyncPolicy = Pick<Association, 'autoImport' | 'autoExport' | 'conflictPolicy'>;

export type SyncAction =
  | 'none'
  | 'record'
  | 'export'
  | 'import'
  | 'deleteObject'
  | 'deleteFile'
  | 'dropLedger'
  | 'keepBoth'
  | 'checksum'
  | 'skip';

/** The decision for one path. `conflict` marks decisions taken under the conflict policy. */
export interface Decision {
  action: SyncAction;
  /** Machine-readable reason, stable for tests and logs, e.g. 'fs-changed', 'both-equal'. */
  reason: string;
  conflict?: boolean;
  /** Set with action 'skip' when the path is refused (e.g. S3ImportObjectTypeMismatch). */
  code?: string;
}

/** One unit of work for `apply`: a path of an association that may have changed. */
export interface WorkItem {
  associationId: string;
  /** Relative path ('' is never a work item). */
  path: string;
  /** What the event said the path is; apply re-reads both sides regardless. */
  kindHint?: NodeKind;
  /** The Pipe's SQS message ids this item came from, for batchItemFailures. */
  messageIds: string[];
  /** Set when the file was renamed from this relative path: apply copies server-side instead of re-uploading. */
  renamedFrom?: string;
}

/** `handed-off`: a large import or export left for the large-file path's own execution (not a failure). */
export type ApplyOutcome = 'done' | 'unchanged' | 'deferred' | 'skipped' | 'failed' | 'handed-off';

/** What `apply` reports for one item. */
export interface ApplyResult {
  associationId: string;
  path: string;
  /** `rename`: a server-side copy to the new key and a delete of the old one (no re-upload). */
  action: SyncAction | 'rename';
  outcome: ApplyOutcome;
  reason?: string;
  code?: string;
  message?: string;
  bytes?: number;
  conflict?: boolean;
  messageIds: string[];
}
