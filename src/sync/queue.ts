import { errorCode } from '../core/errors.ts';
import type { ApplyResult, WorkItem } from '../core/types.ts';

/**
 * The executor's work queue (docs/architecture.md §2.1): a path's plan may
 * leave follow-up items — the export of a conflict copy, the two plain
 * paths of a rename that cannot move server-side, a path the large-file
 * path hands back. They go back onto the queue of the item that produced
 * them and run, in order, after it; nothing calls back into an earlier
 * phase to sync them.
 */

/** How a follow-up's result joins the result of the item that produced it. */
export type Joins =
  /** The follow-up's result is the item's result (a rename's new path, synced plainly). */
  | 'replace'
  /** Its bytes are added to the item's (a conflict copy's export). */
  | 'bytes'
  /** Its result is not reported (a rename's old path, synced plainly). */
  | 'quiet';

export interface FollowUp {
  item: WorkItem;
  joins: Joins;
}

/** What running one path gives: its result, and the follow-up items to queue after it. */
export interface Applied {
  result: ApplyResult;
  followUps: FollowUp[];
}

/** Runs one path; throws what the path threw (the caller's retry policy decides). */
export type Attempt = (item: WorkItem) => Promise<Applied | ApplyResult>;

/** Maps a thrown error to a failed result (for callers that run items outside the state machine). */
export function failedResult(item: WorkItem, error: unknown): ApplyResult {
  return {
    associationId: item.associationId,
    path: item.path,
    action: 'none',
    outcome: 'failed',
    code: errorCode(error),
    message: error instanceof Error ? error.message : String(error),
    messageIds: item.messageIds,
  };
}

function applied(outcome: Applied | ApplyResult): Applied {
  return 'followUps' in outcome ? outcome : { result: outcome, followUps: [] };
}

/** A follow-up that failed for good fails the item it came from, so its messages are delivered again. */
function join(into: ApplyResult, next: ApplyResult, joins: Joins): ApplyResult {
  if (joins === 'replace') return next;
  if (next.outcome === 'failed') {
    return { ...into, outcome: 'failed', code: next.code, message: `${next.path}: ${next.message}` };
  }
  if (joins === 'bytes') return { ...into, bytes: (into.bytes ?? 0) + (next.bytes ?? 0) };
  return into;
}

/**
 * Runs `item`, then every follow-up it left (each with its own follow-ups
 * first), one at a time and in order, and folds their results into one.
 * `attempt` may return a failed result instead of throwing (batch.ts's
 * retrying attempt does); a throw ends the queue.
 */
export async function drain(item: WorkItem, attempt: Attempt): Promise<ApplyResult> {
  const { result, followUps } = applied(await attempt(item));
  let joined = result;
  for (const followUp of followUps)
    joined = join(joined, await drain(followUp.item, attempt), followUp.joins);
  return joined;
}
