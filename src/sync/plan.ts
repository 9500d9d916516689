import type { PipeRecord } from '../core/events.ts';
import { findEchoes } from './plan/echoes.ts';
import { toWorkItems } from './plan/items.ts';
import { parseBody } from './plan/parse.ts';
import { pairRenames } from './plan/renames.ts';
import { routeEvent } from './plan/route.ts';
import type { Candidate, PlanDeps, PlanOutput } from './plan/types.ts';

export type { PlanDeps, PlanFailure, PlanOutput } from './plan/types.ts';

/**
 * Turns one Pipe batch of change events into per-path work items for the
 * associations that cover them: parse each body, route each change to its
 * association (policy filter), pair deletes and creates into renames, drop
 * bucketlink's own writes coming back, and dedupe per path. Events are hints
 * only: `apply` re-reads both sides, so duplicates and reordering cost
 * nothing but a little work.
 */
export async function planBatch(records: PipeRecord[], deps: PlanDeps): Promise<PlanOutput> {
  const output: PlanOutput = {
    items: [],
    failures: [],
    rejected: [],
    dropped: { uncovered: 0, echoes: 0, policy: 0 },
    echoes: {},
    messageIds: records.map((record) => record.messageId),
    sentTimestamps: records.map((record) => record.attributes?.SentTimestamp ?? ''),
  };
  const associations = await deps.listAssociations();
  const candidates: Candidate[] = [];
  for (const record of records) {
    const event = parseBody(record, output.failures);
    if (event) routeEvent(record.messageId, event, associations, candidates, output);
  }
  const paired = await pairRenames(candidates, deps.ledger);
  const echoes = await findEchoes(paired, deps.ledger);
  output.items = toWorkItems(paired, echoes, output);
  return output;
}
