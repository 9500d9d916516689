import { parseDataRepositoryPath } from '../../core/association.ts';
import { observedMatchesBase } from '../../core/compare.ts';
import { hasValidKey } from '../../core/mapping.ts';
import type { Candidate, PlanDeps } from './types.ts';

/**
 * bucketlink's own writes coming back as events: an "Object Created" whose
 * ETag the ledger holds, or an agent report whose stat (ino, size, mtime,
 * ctime, mode) is the one the ledger recorded. Their rows are read in one
 * batch per association. Returns the candidates' indexes.
 */
export async function findEchoes(candidates: Candidate[], ledger: PlanDeps['ledger']): Promise<Set<number>> {
  const checked = new Map<string, number[]>();
  const prefixes = new Map<string, string>();
  for (const [index, candidate] of candidates.entries()) {
    if (!candidate.etag && !candidate.seen) continue;
    // A path with no valid key has no row (and would fail the whole batch read): apply refuses it.
    const { associationId, dataRepositoryPath } = candidate.association;
    let prefix = prefixes.get(associationId);
    if (prefix === undefined) {
      prefix = parseDataRepositoryPath(dataRepositoryPath).prefix;
      prefixes.set(associationId, prefix);
    }
    if (!hasValidKey(candidate.path, prefix)) continue;
    const indexes = checked.get(associationId);
    if (indexes) indexes.push(index);
    else checked.set(associationId, [index]);
  }
  const echoes = new Set<number>();
  for (const [associationId, indexes] of checked) {
    const rows = await ledger.getMany(
      associationId,
      indexes.map((index) => candidates[index]!.path),
    );
    for (const [i, index] of indexes.entries()) {
      const { etag, seen } = candidates[index]!;
      const row = rows[i];
      const echo = etag
        ? row?.state === 'present' && row.s3?.etag === etag
        : seen !== undefined && observedMatchesBase(seen, row);
      if (echo) echoes.add(index);
    }
  }
  return echoes;
}
