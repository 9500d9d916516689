import type { WorkItem } from '../../core/types.ts';
import { type Candidate, type PlanOutput, pathKey } from './types.ts';

/**
 * Collapses candidates into one work item per association and path, in
 * first-seen order, keeping every message id and the first rename source.
 * Candidates whose index is in `echoes` are dropped and counted, per
 * association, in `output`. Pure.
 */
export function toWorkItems(
  candidates: Candidate[],
  echoes: ReadonlySet<number>,
  output: Pick<PlanOutput, 'dropped' | 'echoes'>,
): WorkItem[] {
  const byPath = new Map<string, WorkItem>();
  for (const [index, candidate] of candidates.entries()) {
    const { associationId } = candidate.association;
    if (echoes.has(index)) {
      output.dropped.echoes++;
      output.echoes[associationId] = (output.echoes[associationId] ?? 0) + 1;
      continue;
    }
    const id = pathKey(associationId, candidate.path);
    const existing = byPath.get(id);
    if (existing) {
      if (!existing.messageIds.includes(candidate.messageId)) existing.messageIds.push(candidate.messageId);
      if (candidate.renamedFrom) existing.renamedFrom ??= candidate.renamedFrom;
      continue;
    }
    byPath.set(id, {
      associationId,
      path: candidate.path,
      ...(candidate.kindHint ? { kindHint: candidate.kindHint } : {}),
      messageIds: [candidate.messageId],
      ...(candidate.renamedFrom ? { renamedFrom: candidate.renamedFrom } : {}),
    });
  }
  return [...byPath.values()];
}
