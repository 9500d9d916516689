import { randomUUID } from 'node:crypto';
import type { Decision, FsState, S3State, WorkItem } from '../core/types.ts';

/**
 * The large-file path's pure parts: which decisions leave the Express path,
 * and how a file or object is cut into byte ranges that move in parallel.
 */

const MiB = 1024 * 1024;
/** S3's smallest part (except the last one). */
export const MIN_PART_BYTES = 5 * MiB;
/** S3's largest part. */
export const MAX_PART_BYTES = 5 * 1024 * MiB;
/**
 * At most this many ranges per transfer: S3 allows 10,000 parts, but the
 * ranges (and then the parts' ETags) travel in the execution's state, which
 * Step Functions caps at 256 KB; 2,000 of them stay well under it.
 */
export const MAX_RANGES = 2_000;

/** One part: bytes `start` to `end`, both inclusive (an HTTP Range). */
export interface ByteRange {
  partNumber: number;
  start: number;
  end: number;
}

/**
 * The part size to use for `size` bytes: the preferred size, raised to S3's
 * minimum and to whatever keeps the count of ranges within MAX_RANGES
 * (rounded up to whole MiB). Throws when no part size can do it.
 */
export function partSizeFor(size: number, preferred: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`not a size: ${size}`);
  const least = Math.ceil(size / MAX_RANGES / MiB) * MiB;
  const partSize = Math.max(preferred, MIN_PART_BYTES, least);
  if (partSize > MAX_PART_BYTES) {
    throw new RangeError(`${size} bytes need parts above S3's 5 GiB limit`);
  }
  return partSize;
}

/** Cuts `size` bytes into consecutive ranges of `partSize` (the last one shorter); one range for an empty body. */
export function planRanges(size: number, partSize: number): ByteRange[] {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`not a size: ${size}`);
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_BYTES) {
    throw new RangeError(`part size ${partSize} is below S3's 5 MiB minimum`);
  }
  const count = Math.max(1, Math.ceil(size / partSize));
  if (count > MAX_RANGES) throw new RangeError(`${count} ranges exceed ${MAX_RANGES}`);
  return Array.from({ length: count }, (_, index) => ({
    partNumber: index + 1,
    start: index * partSize,
    end: Math.min(size, (index + 1) * partSize) - 1,
  }));
}

/** What apply hands to the large-file machine: the path, and how to move it. */
export interface LargeTransferRequest {
  /** Unique per hand-off: the execution's name and its lease owner. */
  transferId: string;
  associationId: string;
  path: string;
  partSize: number;
  maxConcurrency: number;
}

/** The large-file path as apply sees it: where it starts, and how to start it. */
export interface LargeTransfers {
  /** Files and objects strictly larger than this leave the Express path. */
  thresholdBytes: number;
  partSize: number;
  maxConcurrency: number;
  /** Starts the STANDARD execution; resolves once it is started, not finished. */
  start(request: LargeTransferRequest): Promise<void>;
}

/** The size a decision would move when it is a file import or export, else undefined. */
export function transferSize(
  decision: Decision,
  fs: FsState | undefined,
  s3: S3State | undefined,
): number | undefined {
  if (decision.action === 'export' && fs?.kind === 'file') return fs.size;
  if (decision.action === 'import' && s3?.kind === 'file') return s3.size;
  return undefined;
}

/** Whether a decision is too big for the Express path, given the configured large-file path. */
export function isLarge(
  large: Pick<LargeTransfers, 'thresholdBytes'> | undefined,
  decision: Decision,
  fs: FsState | undefined,
  s3: S3State | undefined,
): boolean {
  const size = transferSize(decision, fs, s3);
  return large !== undefined && size !== undefined && size > large.thresholdBytes;
}

/** The request to start when the decision is too big for the Express path; undefined to act in place. */
export function handOffFor(
  large: LargeTransfers | undefined,
  decision: Decision,
  item: Pick<WorkItem, 'associationId' | 'path'>,
  fs: FsState | undefined,
  s3: S3State | undefined,
  transferId: () => string = randomUUID,
): LargeTransferRequest | undefined {
  if (!large || !isLarge(large, decision, fs, s3)) return undefined;
  return {
    transferId: transferId(),
    associationId: item.associationId,
    path: item.path,
    partSize: large.partSize,
    maxConcurrency: large.maxConcurrency,
  };
}
