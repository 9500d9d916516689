import { setTimeout as sleep } from 'node:timers/promises';
import { errorCode, SyncError } from '../core/errors.ts';
import { withDefaults } from '../core/options.ts';
import type { ApplyResult, WorkItem } from '../core/types.ts';
import { type Attempt, drain, failedResult } from './queue.ts';

/**
 * One `apply` invocation per batch of paths (docs/architecture.md §4.1):
 * the paths run with bounded concurrency, a path's failure is a result of
 * its own, and a retryable failure is retried here, per path, with the
 * policy the sync machine's per-path Map used to give it in ASL. A path's
 * follow-up items (src/sync/queue.ts) run after it on the same worker, each
 * retried the same way.
 */

/** Retries after the first attempt, by error code (the former Map iteration's Retry). */
export const RETRIES: Readonly<Record<string, number>> = {
  Transient: 4,
  LedgerConflict: 4,
  LeaseHeld: 4,
  SourceChangedDuringTransfer: 5,
};

export interface BatchOptions {
  /** Paths in flight at once. Default 8 (the Map's MaxConcurrency). */
  concurrency?: number;
  /** The first retry's base delay; doubled each time, with full jitter. Default 1000 (the ASL's IntervalSeconds). */
  retryIntervalMs?: number;
  /** Told of every failed attempt, retried or not. */
  onFailure?: (item: WorkItem, error: unknown, willRetry: boolean) => void;
  random?: () => number;
}

/** Retries of any other failure that trying again can help (`isRetryable`). */
const OTHER_RETRYABLE_RETRIES = 3;

/** Socket failures that reach us unwrapped (the S3 adapter wraps its own as `Transient`). */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * Whether trying the path again can help: a SyncError that says so
 * (`Transient` — throttling, 5xx, connection resets —, a lost conditional
 * write, a source that changed mid-read, a lease held elsewhere), or a raw
 * socket failure.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof SyncError) return error.retryable;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (typeof code === 'string' && SOCKET_CODES.has(code)) || message === 'socket hang up';
}

/** How many times a path that failed with `error` is tried again. */
function retriesFor(error: unknown): number {
  return RETRIES[errorCode(error)] ?? (isRetryable(error) ? OTHER_RETRYABLE_RETRIES : 0);
}

const DEFAULTS = { concurrency: 8, retryIntervalMs: 1_000, random: Math.random };

/**
 * Applies every item of a batch and the follow-ups they leave; never throws
 * for one item. Results are in the items' order, one per item.
 */
export async function applyBatch(
  items: WorkItem[],
  apply: Attempt,
  options: BatchOptions = {},
): Promise<ApplyResult[]> {
  const { concurrency, retryIntervalMs, random, onFailure } = withDefaults(DEFAULTS, options);
  const attempt: Attempt = async (item) => {
    for (let retry = 0; ; retry++) {
      try {
        return await apply(item);
      } catch (error) {
        const willRetry = retry < retriesFor(error);
        onFailure?.(item, error, willRetry);
        if (!willRetry) return failedResult(item, error);
        await sleep(random() * retryIntervalMs * 2 ** retry);
      }
    }
  };
  const results: ApplyResult[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await drain(items[index]!, attempt);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
