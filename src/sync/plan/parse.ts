import { type PipeRecord, type SyncEvent, syncEvent } from '../../core/events.ts';
import type { PlanFailure } from './types.ts';

/**
 * Parses one Pipe record's body into a sync event. A body that is not JSON
 * or matches no event schema yields a `MalformedEvent` failure (naming the
 * first offending field) instead, and no event. Pure.
 */
export function parseBody(record: PipeRecord, failures: PlanFailure[]): SyncEvent | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    failures.push({
      messageId: record.messageId,
      code: 'MalformedEvent',
      message: 'body is not JSON',
    });
    return undefined;
  }
  const parsed = syncEvent.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'event';
    failures.push({
      messageId: record.messageId,
      code: 'MalformedEvent',
      message: `${where}: ${issue?.message ?? 'does not match any event schema'}`,
    });
    return undefined;
  }
  return parsed.data;
}
