import type { FileTree, Ledger, ObjectStore } from '../adapters/ports.ts';
import { associationRoot, parseDataRepositoryPath } from '../core/association.ts';
import { errorCode } from '../core/errors.ts';
import { keyToPath } from '../core/mapping.ts';
import type { Association, WorkItem } from '../core/types.ts';

export interface ReconcileDeps {
  tree: FileTree;
  store: ObjectStore;
  ledger: Ledger;
  fileSystemRoot: string;
}

export interface RefusedKey {
  key: string;
  code: string;
  message: string;
}

/**
 * Every path either side or the ledger knows of, as pages of work items:
 * the anti-entropy sweep. Each path is yielded once (the seen-set grows with
 * the tree; repository tasks will stream through a manifest instead).
 */
export async function* reconcileItems(
  association: Association,
  deps: ReconcileDeps,
  onRefused: (refused: RefusedKey) => void,
): AsyncGenerator<WorkItem[]> {
  const seen = new Set<string>();
  const { associationId } = association;
  const page = (entries: Array<{ path: string; kindHint?: WorkItem['kindHint'] }>): WorkItem[] => {
    const items: WorkItem[] = [];
    for (const { path, kindHint } of entries) {
      if (!path || seen.has(path)) continue;
      seen.add(path);
      items.push({ associationId, path, ...(kindHint ? { kindHint } : {}), messageIds: [] });
    }
    return items;
  };
  const root = associationRoot(deps.fileSystemRoot, association);
  for await (const entries of deps.tree.walk(root)) {
    yield page(entries.map((e) => ({ path: e.path, kindHint: e.state.kind })));
  }
  const { bucket, prefix } = parseDataRepositoryPath(association.dataRepositoryPath);
  for await (const objects of deps.store.list(bucket, prefix)) {
    const entries: Array<{ path: string; kindHint: WorkItem['kindHint'] }> = [];
    for (const object of objects) {
      try {
        const mapped = keyToPath(object.key, prefix);
        entries.push({ path: mapped.path, kindHint: mapped.kind });
      } catch (error) {
        onRefused({ key: object.key, code: errorCode(error), message: (error as Error).message });
      }
    }
    yield page(entries);
  }
  for await (const rows of deps.ledger.list(associationId)) {
    yield page(rows.map((row) => ({ path: row.path, kindHint: row.kind })));
  }
}
