import type { Readable } from 'node:stream';
import type { Association, FsState, LedgerEntry, NodeKind, PosixMeta, S3State } from '../core/types.ts';
import type { RepositoryTask, TaskFailure, TaskLifecycle } from '../tasks/model.ts';

/**
 * The ports `apply`, `plan` and `control` talk through. Each has a real
 * implementation in this folder (constructed with its client) and tests run
 * the same contract against the real peer (s3rver, dynalite, a temp dir).
 */

/** One object of a listing. Listings carry no user metadata. */
export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified: string;
}

export interface PutResult {
  etag: string;
  versionId?: string;
}

/** S3, seen as a store of objects. Keys are raw (never URL-encoded here). */
export interface ObjectStore {
  /** HEAD one key; undefined when it does not exist. */
  head(bucket: string, key: string): Promise<S3State | undefined>;
  /**
   * What S3 holds for a relative path under a prefix: the object `prefix+path`
   * (file or symlink), else the marker `prefix+path/` or an implied directory
   * (some key below `prefix+path/`), else undefined. `kindHint` lets it try the
   * likely shape first.
   */
  stat(bucket: string, prefix: string, path: string, kindHint?: NodeKind): Promise<S3State | undefined>;
  /**
   * `stat` by a GET instead of a HEAD, for a path about to be imported: the object
   * `prefix+path` with its body (the caller reads or destroys it), else what `stat`
   * finds for a directory (no body), else undefined. One request for a new object
   * instead of a HEAD and then a GET.
   */
  open(
    bucket: string,
    prefix: string,
    path: string,
  ): Promise<{ state: S3State; body?: Readable } | undefined>;
  /** Stream an object's body. `ifMatch` (an etag) makes the read fail if the object changed. */
  get(
    bucket: string,
    key: string,
    options?: { ifMatch?: string },
  ): Promise<{ body: Readable; state: S3State }>;
  /** Upload a body (multipart above a threshold, aborted on failure). Metadata keys without `x-amz-meta-`. */
  put(
    bucket: string,
    key: string,
    body: Readable | Buffer | string,
    options: { size: number; metadata: Record<string, string>; ifMatch?: string; ifNoneMatch?: string },
  ): Promise<PutResult>;
  /**
   * Upload a stream whose length is not known in advance: buffered one part at a time
   * (memory bounded by the part size and queue), nothing on local disk; aborted on failure.
   */
  upload(bucket: string, key: string, body: Readable): Promise<PutResult>;
  delete(bucket: string, key: string, options?: { ifMatch?: string }): Promise<void>;
  /**
   * Server-side copy of `sourceKey` to `key` in one bucket, keeping the metadata
   * (multipart UploadPartCopy above 5 GiB). `ifMatch` makes it fail if the source changed.
   */
  copy(
    bucket: string,
    sourceKey: string,
    key: string,
    options: { size: number; ifMatch?: string },
  ): Promise<PutResult>;
  /** Page through keys under a prefix without holding the listing in memory. */
  list(bucket: string, prefix: string): AsyncIterable<ListedObject[]>;
  bucketExists(bucket: string): Promise<boolean>;
}

/** Metadata to apply to a file written by import. */
export interface FileWriteMeta extends PosixMeta {
  /** Restore uid/gid only when allowed (root, or an access point with root). */
  restoreOwner?: boolean;
}

/** What a file looked like before it was read for export; `verify` throws SourceChangedError if it moved. */
export interface ExportRead {
  body: Readable;
  before: FsState;
  verify(): Promise<void>;
}

/**
 * The file system under one association root. Paths are relative to `root`;
 * no operation follows a symlink or writes outside the root.
 */
export interface FileTree {
  /** lstat; undefined when absent. Refuses (throws) a path that passes through a symlink. */
  stat(root: string, path: string): Promise<FsState | undefined>;
  sentinelPresent(root: string): Promise<boolean>;
  writeSentinel(root: string, associationId: string): Promise<void>;
  openForExport(root: string, path: string): Promise<ExportRead>;
  /**
   * Write atomically: temp file in the same directory, fsync, mode/owner/times,
   * re-stat the target and compare with `expect` (undefined = must be absent),
   * then rename over it. Returns the stat after the rename.
   */
  writeFile(
    root: string,
    path: string,
    body: Readable,
    meta: FileWriteMeta,
    expect: FsState | undefined,
  ): Promise<FsState>;
  mkdir(root: string, path: string, meta: FileWriteMeta): Promise<FsState>;
  symlink(root: string, path: string, target: string, expect: FsState | undefined): Promise<FsState>;
  /** Re-stat, compare with `expect`, then unlink (or rmdir an empty directory); prunes emptied parents when asked. */
  remove(root: string, path: string, expect: FsState, options?: { pruneParents?: boolean }): Promise<void>;
  /**
   * Keep the file-system version of a conflict under `conflictPath`, created exclusively;
   * returns where it is kept (an earlier copy of the same file, when a conflict is retried).
   */
  preserve(root: string, path: string, conflictPath: string): Promise<string>;
  md5(root: string, path: string): Promise<string>;
  /** Every entry below root (the sentinel and temp files excluded; stale temp files removed), in pages. */
  walk(root: string): AsyncIterable<Array<{ path: string; state: FsState }>>;
}

/** A lease on one path: the base row as read, and what to condition the commit on. */
export interface Lease {
  owner: string;
  base: LedgerEntry | undefined;
  rev: number;
  wanted: number;
}

export type Acquired = { acquired: true; lease: Lease } | { acquired: false };

/** What to write at commit: a present/deleted row, or nothing (drop). */
export type LedgerWrite = Omit<LedgerEntry, 'rev' | 'associationId' | 'path'> | null;

/** The DynamoDB ledger of what was last synced. */
export interface Ledger {
  get(associationId: string, path: string): Promise<LedgerEntry | undefined>;
  /** The rows of many paths of one association, in the order asked (one round trip per 100). */
  getMany(associationId: string, paths: string[]): Promise<Array<LedgerEntry | undefined>>;
  /**
   * Take the path's lease with a conditional write. When another owner holds it,
   * bump its `wanted` counter instead (so the holder re-plans) and return
   * `{ acquired: false }`.
   */
  acquire(associationId: string, path: string, owner: string, ttlMs: number): Promise<Acquired>;
  /**
   * Write the row (or drop it) and release the lease, conditional on the rev and
   * owner. `rerun` is true when another worker asked for the path meanwhile.
   * Throws LedgerConflictError when the condition fails.
   */
  commit(associationId: string, path: string, lease: Lease, write: LedgerWrite): Promise<{ rerun: boolean }>;
  /** Release without writing. */
  release(associationId: string, path: string, lease: Lease): Promise<{ rerun: boolean }>;
  /** Present rows of an association whose file had this inode (rename pairing). */
  findByIno(associationId: string, ino: string): Promise<LedgerEntry[]>;
  /** All rows of an association, in pages (reconcile uses it to find paths gone from both sides). */
  list(associationId: string): AsyncIterable<LedgerEntry[]>;
  /** Remove every row of an association (association deletion). */
  clear(associationId: string): Promise<void>;
}

/** Where associations are kept. */
export interface AssociationStore {
  put(association: Association): Promise<void>;
  get(associationId: string): Promise<Association | undefined>;
  list(): Promise<Association[]>;
  delete(associationId: string): Promise<void>;
}

/** Counter deltas one batch adds to its task (`total` is negative for items the batch left out). */
export interface TaskProgress {
  total: number;
  succeeded: number;
  failed: number;
  bytes: number;
}

/**
 * Where repository tasks are kept (DynamoTaskStore in the tasks table;
 * MemoryTaskStore in src/adapters/memory/ for the fast property test).
 */
export interface TaskStore {
  /** Refuses (throws) a task id that exists already. */
  create(task: RepositoryTask): Promise<void>;
  get(taskId: string): Promise<RepositoryTask | undefined>;
  /** Every task, newest first. */
  list(): Promise<RepositoryTask[]>;
  /**
   * Moves a task to `to` only if it is in one of `from` (so a cancel never
   * revives a finished task, and a finishing task never hides a cancel);
   * sets `extra`'s defined fields and `status.lastUpdatedTime`. Returns whether it moved.
   */
  transition(
    taskId: string,
    from: TaskLifecycle[],
    to: TaskLifecycle,
    extra?: Partial<Pick<RepositoryTask, 'startTime' | 'endTime' | 'failureDetails'>>,
  ): Promise<boolean>;
  /** Sets `status.totalCount` once the task's items are listed. */
  setTotal(taskId: string, total: number): Promise<void>;
  /** Adds one batch's counts atomically (batches run concurrently) and keeps its failures beside the task. */
  addProgress(taskId: string, progress: TaskProgress, failures: TaskFailure[]): Promise<void>;
  /** The task's failed paths, one part (one batch's failures) at a time. */
  failures(taskId: string): AsyncIterable<TaskFailure[]>;
}

/** A conflict, published as an EventBridge event (`detail-type: Sync Conflict`). */
export interface SyncConflict {
  associationId: string;
  path: string;
  policy: string;
  resolution: string;
  /** Where the file-system version was kept, for KEEP_BOTH. */
  keptAs?: string;
}

/** Publishes bucketlink's own events (conflicts) to its bus. */
export interface EventPublisher {
  publishConflict(conflict: SyncConflict): Promise<void>;
}

/** One association's delete-budget window: the window is `floor(now / windowMs)`. */
export interface BudgetWindow {
  associationId: string;
  window: number;
}

/** What a window's counter holds: the association's size counted at its start, and the deletes charged. */
export interface BudgetCount {
  paths?: number;
  deletes: number;
}

/**
 * The delete budget's counters, one per association and window, shared by
 * every worker (src/sync/delete-budget.ts holds the policy). `expiresAt`
 * (epoch seconds) is when the store may forget a window.
 */
export interface DeleteBudgetStore {
  /** The window's counter, read consistently; undefined when nothing was recorded. */
  read(key: BudgetWindow): Promise<BudgetCount | undefined>;
  /**
   * Record the association's size for the window unless one is recorded already;
   * returns the figure the window holds afterwards (a concurrent worker's, if it was first).
   */
  recordPaths(key: BudgetWindow, paths: number, expiresAt: number): Promise<number>;
  /** Add one delete atomically unless `limit` are charged already; false when refused (nothing added). */
  charge(key: BudgetWindow, limit: number, expiresAt: number): Promise<boolean>;
  /** Forget the window. */
  clear(key: BudgetWindow): Promise<void>;
}
