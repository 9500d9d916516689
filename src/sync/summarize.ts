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

/** One association's share of a batch, as Powertools Metrics publishes it. */
export interface AssociationMetrics {
  associationId: string;
  /** Paths imported, exported, deleted or renamed. */
  transfers: number;
  bytes: number;
  /** Paths an event named that needed nothing (the ledger stopped an echo or a duplicate). */
  echoesSkipped: number;
  conflicts: number;
  /** Failed or refused paths, by error code. */
  failuresByCode: Record<string, number>;
  /** Oldest buffered event behind a committed path → now, in ms; absent when nothing committed. */
  lagMs?: number;
}

export interface BatchMetrics {
  associations: AssociationMetrics[];
  /** Work items applied (every result). */
  items: number;
  /** Messages that could not be parsed: they belong to no association. */
  malformed: number;
}

/** When each message of the batch entered the buffer (SQS SentTimestamp, epoch ms), by message id. */
export type SentTimes = ReadonlyMap<string, number>;

/**
 * The metrics of one batch, per association: pure, so the numbers are
 * tested without Powertools. Lag runs from the moment the oldest message
 * behind a committed path entered the buffer to `nowMs`.
 */
export function batchMetrics(
  results: ApplyResult[],
  failures: PlanFailure[],
  sent: SentTimes = new Map(),
  nowMs: number = Date.now(),
  /** Echoes `plan` dropped before any apply, by association. */
  planEchoes: Record<string, number> = {},
): BatchMetrics {
  const byAssociation = new Map<string, AssociationMetrics>();
  const of = (associationId: string) => {
    let entry = byAssociation.get(associationId);
    if (!entry) {
      entry = { associationId, transfers: 0, bytes: 0, echoesSkipped: 0, conflicts: 0, failuresByCode: {} };
      byAssociation.set(associationId, entry);
    }
    return entry;
  };
  for (const [associationId, count] of Object.entries(planEchoes)) of(associationId).echoesSkipped += count;
  for (const result of results) {
    const entry = of(result.associationId);
    if (result.outcome === 'done') {
      entry.transfers++;
      entry.bytes += result.bytes ?? 0;
      if (result.conflict) entry.conflicts++;
      const oldest = Math.min(...result.messageIds.map((id) => sent.get(id) ?? Number.POSITIVE_INFINITY));
      if (Number.isFinite(oldest)) entry.lagMs = Math.max(entry.lagMs ?? 0, Math.max(0, nowMs - oldest));
    } else if (result.outcome === 'unchanged' && result.messageIds.length > 0) {
      entry.echoesSkipped++;
    } else if (result.outcome === 'failed' || (result.outcome === 'skipped' && result.code)) {
      const code = result.code ?? 'Unknown';
      entry.failuresByCode[code] = (entry.failuresByCode[code] ?? 0) + 1;
    }
  }
  return { associations: [...byAssociation.values()], items: results.length, malformed: failures.length };
}

/** Pairs the batch's message ids with their SentTimestamps (two arrays in batch order, as the ASL passes them). */
export function sentTimes(messageIds: string[] | undefined, sentTimestamps: string[] | undefined): SentTimes {
  const sent = new Map<string, number>();
  messageIds?.forEach((id, i) => {
    const ms = Number(sentTimestamps?.[i]);
    if (Number.isFinite(ms) && ms > 0) sent.set(id, ms);
  });
  return sent;
}

/**
 * Why an item failed, for the log: a Catch's Cause is the Lambda runtime's
 * error JSON (`{"errorType","errorMessage","trace"}`); keep its message.
 */
export function failureReason(message: string | undefined): string | undefined {
  if (!message?.startsWith('{')) return message;
  try {
    return (JSON.parse(message) as { errorMessage?: string }).errorMessage ?? message;
  } catch {
    return message;
  }
}
