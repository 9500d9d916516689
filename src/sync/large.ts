import { setTimeout as sleep } from 'node:timers/promises';
import {
  assertUnchanged,
  createTemp,
  landTemp,
  readRange,
  removeTemp,
  writeRange,
} from '../adapters/fs-ranges.ts';
import type { Lease, LedgerWrite } from '../adapters/ports.ts';
import type { S3RangeStore } from '../adapters/s3-ranges.ts';
import { isRacy, toFsSnapshot, toS3Snapshot } from '../core/decide.ts';
import { LedgerConflictError, SourceChangedError, SyncError } from '../core/errors.ts';
import { pathToKey } from '../core/mapping.ts';
import { encodePosixMeta } from '../core/metadata.ts';
import type { ApplyResult, Association, FsState, S3State, WorkItem } from '../core/types.ts';
import { logger } from '../log.ts';
import { type ApplyDeps, isActive, sideOf } from './deps.ts';
import { type ByteRange, type LargeTransferRequest, partSizeFor, planRanges } from './large-plan.ts';
import { observeAndDecide } from './observe.ts';
import { type Side, snapshotAfterPut } from './transfer.ts';

/**
 * The steps of statemachines/large-transfer.asl.json (a STANDARD execution):
 * Prepare takes the path's lease for the whole transfer, decides again and
 * opens the transfer (a multipart upload, or a temp file); Part moves one
 * range; Commit completes it (CompleteMultipartUpload, or the expect-checked
 * rename of the temp file) and commits the ledger as apply does; Abort drops
 * what was started and releases the lease. The execution's state carries the
 * Transfer below between them, so every step is a separate invocation.
 *
 * A step never syncs a path itself: when the path must go back to the
 * normal engine (nothing large left to move, or another worker asked for it
 * while the transfer held it), its output carries `resync`, the work item
 * the large handler (src/handlers.ts `largeFunction`) runs through apply.
 */

export type LargeDeps = ApplyDeps & { ranges: Pick<S3RangeStore, keyof S3RangeStore> };

/**
 * The transfer's lease, renewed by every part: longer than one part can take
 * (the function's 15 minutes), short enough that a transfer whose execution
 * died frees its path soon. A commit after it expired still succeeds unless
 * another worker took the path over.
 */
const LARGE_LEASE_TTL_MS = 20 * 60_000;

export interface Transfer {
  transferId: string;
  associationId: string;
  path: string;
  direction: 'import' | 'export';
  lease: Lease;
  root: string;
  bucket: string;
  key: string;
  size: number;
  /** export: the file as read; import: what the target may hold when replaced (absent: must be absent). */
  fs?: FsState;
  /** import: the object version being read. */
  s3?: S3State;
  uploadId?: string;
  tempName?: string;
}

/** The path, handed back to the normal engine. */
export interface Resync {
  resync?: WorkItem;
}

export type Prepared =
  | { proceed: true; transfer: Transfer; ranges: ByteRange[]; maxConcurrency: number }
  | ({ proceed: false; result: ApplyResult } & Resync);

export interface PartDone {
  partNumber: number;
  etag?: string;
}

/** The association's two sides, while it is active (apply's rule); undefined otherwise. */
async function activeSide(
  associationId: string,
  deps: ApplyDeps,
): Promise<{ side: Side; association: Association } | undefined> {
  const association = await deps.getAssociation(associationId);
  if (!association || !isActive(association)) return undefined;
  return { side: sideOf(association, deps), association };
}

/** The path as a work item for apply, once the lease is released (nothing large left to do, or someone asked meanwhile). */
function resync(associationId: string, path: string): WorkItem {
  return { associationId, path, kindHint: 'file', messageIds: [] };
}

export async function prepareLarge(request: LargeTransferRequest, deps: LargeDeps): Promise<Prepared> {
  const { associationId, path } = request;
  const active = await activeSide(associationId, deps);
  const owner = `large/${request.transferId}`;
  const got = active ? await deps.ledger.acquire(associationId, path, owner, LARGE_LEASE_TTL_MS) : undefined;
  if (!active || !got?.acquired) {
    const reason = active ? 'lease-held' : 'association-inactive';
    return {
      proceed: false,
      result: { associationId, path, action: 'none', outcome: 'deferred', reason, messageIds: [] },
    };
  }
  const lease = got.lease;
  const { side, association } = active;
  try {
    let { decision, fs, s3 } = await observeAndDecide(side, path, 'file', lease.base, association);
    const common = {
      transferId: request.transferId,
      associationId,
      path,
      lease,
      root: side.root,
      bucket: side.location.bucket,
    };
    let transfer: Transfer | undefined;
    if (decision.action === 'export' && fs?.kind === 'file') {
      for (let i = 0; i < 3 && isRacy(fs, Date.now()); i++) {
        await sleep(10);
        fs = await side.tree.stat(side.root, path);
        if (fs?.kind !== 'file') throw new SourceChangedError(`${path} vanished before a large export`);
      }
      const key = pathToKey(path, side.location.prefix, 'file');
      const uploadId = await deps.ranges.createUpload(side.location.bucket, key, encodePosixMeta(fs));
      transfer = { ...common, direction: 'export', key, size: fs.size, fs, uploadId };
    } else if (decision.action === 'import' && s3?.kind === 'file') {
      const tempName = await createTemp(side.root, path, s3.size);
      transfer = {
        ...common,
        direction: 'import',
        key: s3.key,
        size: s3.size,
        s3,
        tempName,
        ...(fs ? { fs } : {}),
      };
    }
    if (!transfer) {
      // Nothing large to move any more: the normal path takes the path from here (its result replaces this one).
      await deps.ledger.release(associationId, path, lease);
      const result: ApplyResult = {
        associationId,
        path,
        action: 'none',
        outcome: 'unchanged',
        messageIds: [],
      };
      return { proceed: false, result, resync: resync(associationId, path) };
    }
    const ranges = planRanges(transfer.size, partSizeFor(transfer.size, request.partSize));
    return { proceed: true, transfer, ranges, maxConcurrency: request.maxConcurrency };
  } catch (error) {
    await deps.ledger.release(associationId, path, lease).catch(() => undefined);
    throw error;
  }
}

export async function transferPart(transfer: Transfer, range: ByteRange, deps: LargeDeps): Promise<PartDone> {
  const length = range.end - range.start + 1;
  const renewed = await deps.ledger.acquire(
    transfer.associationId,
    transfer.path,
    transfer.lease.owner,
    LARGE_LEASE_TTL_MS,
  );
  if (!renewed.acquired)
    throw new LedgerConflictError(`${transfer.path}: another worker took the lease over`);
  if (transfer.direction === 'export') {
    const body = await readRange(transfer.root, transfer.path, transfer.fs!, range.start, range.end);
    const etag = await deps.ranges.uploadPart(
      transfer.bucket,
      transfer.key,
      transfer.uploadId!,
      range.partNumber,
      body,
      length,
    );
    return { partNumber: range.partNumber, etag };
  }
  const s3 = transfer.s3!;
  const body = await deps.ranges.getRange(transfer.bucket, s3.key, s3.etag, range.start, range.end);
  await writeRange(transfer.root, transfer.path, transfer.tempName!, range.start, length, body);
  return { partNumber: range.partNumber };
}

export async function commitLarge(
  transfer: Transfer,
  parts: PartDone[],
  deps: LargeDeps,
): Promise<ApplyResult & Resync> {
  const now = deps.now ?? Date.now;
  let write: LedgerWrite;
  if (transfer.direction === 'export') {
    const fs = transfer.fs!;
    // The file must be the one whose ranges were sent: otherwise the upload is torn.
    await assertUnchanged(transfer.root, transfer.path, fs);
    const put = await deps.ranges.complete(
      transfer.bucket,
      transfer.key,
      transfer.uploadId!,
      parts.map((p) => ({ partNumber: p.partNumber, etag: p.etag ?? '' })),
    );
    const s3 = snapshotAfterPut(put, fs.size, encodePosixMeta(fs));
    write = { kind: 'file', state: 'present', fs: toFsSnapshot(fs), s3, syncedAtMs: now() };
  } else {
    const s3 = transfer.s3!;
    const mtimeNs = s3.meta.mtimeNs ?? (BigInt(Date.parse(s3.lastModified)) * 1_000_000n).toString();
    const meta = { ...s3.meta, mtimeNs, restoreOwner: deps.restoreOwner };
    const landed = await landTemp(
      transfer.root,
      transfer.path,
      transfer.tempName!,
      meta,
      transfer.fs,
      deps.restoreOwner,
    );
    write = {
      kind: 'file',
      state: 'present',
      fs: toFsSnapshot(landed),
      s3: toS3Snapshot(s3),
      syncedAtMs: now(),
    };
  }
  const { rerun } = await deps.ledger.commit(transfer.associationId, transfer.path, transfer.lease, write);
  const result: ApplyResult = {
    associationId: transfer.associationId,
    path: transfer.path,
    action: transfer.direction,
    outcome: 'done',
    reason: 'large-transfer',
    bytes: transfer.size,
    messageIds: [],
  };
  return rerun ? { ...result, resync: resync(transfer.associationId, transfer.path) } : result;
}

/** Drops the upload or temp file and releases the lease; an abort S3 refuses for good is logged, not retried. */
export async function abortLarge(
  transfer: Transfer,
  error: unknown,
  deps: LargeDeps,
): Promise<{ aborted: true } & Resync> {
  logger.warn('large transfer aborted', {
    associationId: transfer.associationId,
    path: transfer.path,
    direction: transfer.direction,
    error,
  });
  if (transfer.uploadId) {
    try {
      await deps.ranges.abort(transfer.bucket, transfer.key, transfer.uploadId);
    } catch (abortError) {
      if (abortError instanceof SyncError && abortError.retryable) throw abortError;
      logger.warn('multipart upload not aborted', { key: transfer.key, error: abortError });
    }
  }
  if (transfer.tempName) await removeTemp(transfer.root, transfer.path, transfer.tempName);
  const released = await deps.ledger
    .release(transfer.associationId, transfer.path, transfer.lease)
    .catch(() => ({ rerun: false }));
  return released.rerun
    ? { aborted: true, resync: resync(transfer.associationId, transfer.path) }
    : { aborted: true };
}
