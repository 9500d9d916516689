import { type Candidate, type PlanDeps, pathKey } from './types.ts';

/**
 * chokidar and scans report a rename as a delete and a create. A create
 * whose inode the ledger holds for a path deleted in this same batch is that
 * file moved (if the old path were still there it would be a hard link):
 * the create becomes a rename, and the old path's delete is left to it.
 * Reads the ledger's byIno index only when the batch holds a delete.
 */
export async function pairRenames(candidates: Candidate[], ledger: PlanDeps['ledger']): Promise<Candidate[]> {
  const deleted = new Set(
    candidates.filter((c) => c.op === 'deleted').map((c) => pathKey(c.association.associationId, c.path)),
  );
  const sources = new Set<string>();
  for (const candidate of candidates) {
    const { associationId } = candidate.association;
    if (deleted.size && candidate.op === 'created' && candidate.ino && !candidate.renamedFrom) {
      const rows = await ledger.findByIno(associationId, candidate.ino);
      const moved = rows.find(
        (row) => row.path !== candidate.path && deleted.has(pathKey(associationId, row.path)),
      );
      if (moved) candidate.renamedFrom = moved.path;
    }
    if (candidate.renamedFrom) sources.add(pathKey(associationId, candidate.renamedFrom));
  }
  return candidates.filter(
    (c) => !(c.op === 'deleted' && sources.has(pathKey(c.association.associationId, c.path))),
  );
}
