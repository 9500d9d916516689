import type { ApplyResult } from '../core/types.ts';
import type { PlanFailure } from './plan.ts';

/** The Pipe's partial-batch response: these SQS messages are redelivered, then dead-lettered. */
export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * Maps per-item results back to the messages they came from. A message
 * fails when any item it produced failed, or when it could not be parsed;
 * refused keys and deferred paths are not failures (retrying cannot help,
 * or the lease holder re-plans).
 */
export function summarizeBatch(results: ApplyResult[], failures: PlanFailure[]): BatchResponse {
  const failed = new Set<string>();
  for (const failure of failures) failed.add(failure.messageId);
  for (const result of results) {
    if (result.outcome === 'failed') for (const id of result.messageIds) failed.add(id);
  }
  return { batchItemFailures: [...failed].map((itemIdentifier) => ({ itemIdentifier })) };
}
