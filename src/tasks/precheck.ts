import type { FileTree, Ledger, ObjectStore } from '../adapters/ports.ts';
import { associationRoot, parseDataRepositoryPath } from '../core/association.ts';
import { fsUnchanged } from '../core/compare.ts';
import { decideAction } from '../core/decide.ts';
import { hasValidKey } from '../core/mapping.ts';
import type { Association, WorkItem } from '../core/types.ts';

export interface PrecheckDeps {
  ledger: Pick<Ledger, 'getMany'>;
  store: ObjectStore;
  tree: FileTree;
  fileSystemRoot: string;
}

/** How many paths of one batch are looked at at once. */
const CONCURRENCY = 8;

/**
 * A sweep over a tree that is mostly in sync should not lease every path.
 * Of a batch, the paths whose file still matches its ledger row are looked
 * at without a lease (a stat and a HEAD): when the decision is `none`, the
 * path needs no apply and counts as done. Everything else — new paths,
 * changed files, any other decision — goes to `apply`, which decides again
 * under the lease. A change racing with this look has its own event, as it
 * would after a sweep that leased.
 */
export async function splitUnchanged(
  items: WorkItem[],
  association: Association,
  deps: PrecheckDeps,
): Promise<{ toApply: WorkItem[]; unchanged: number }> {
  const { bucket, prefix } = parseDataRepositoryPath(association.dataRepositoryPath);
  // A path with no valid key has no row either (and would fail the whole batch read): apply refuses it.
  const keyed = items.filter((item) => hasValidKey(item.path, prefix, item.kindHint));
  if (keyed.length === 0) return { toApply: items, unchanged: 0 };
  const root = associationRoot(deps.fileSystemRoot, association);
  const [rows, rootMounted] = await Promise.all([
    deps.ledger.getMany(
      association.associationId,
      keyed.map((item) => item.path),
    ),
    deps.tree.sentinelPresent(root),
  ]);
  const same = new Set<WorkItem>();
  let next = 0;
  const worker = async () => {
    while (next < keyed.length) {
      const index = next++;
      const item = keyed[index]!;
      const row = rows[index];
      const base = row?.state === 'present' ? row : undefined;
      // A file is looked at only if it matches its row; a directory (which
      // may have no row: an implied one needs no marker) always, being few.
      if (!base?.fs && item.kindHint !== 'dir') continue;
      const fs = await deps.tree.stat(root, item.path).catch(() => undefined);
      if (!fs || (base?.fs && (fs.kind !== base.kind || !fsUnchanged(base.fs, fs)))) continue;
      const s3 = await deps.store.stat(bucket, prefix, item.path, fs.kind).catch(() => undefined);
      if (decideAction({ base, fs, s3, policy: association, rootMounted }).action === 'none') same.add(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, keyed.length) }, worker));
  return { toApply: items.filter((item) => !same.has(item)), unchanged: same.size };
}
