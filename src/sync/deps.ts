import type { EventPublisher, FileTree, Ledger, ObjectStore } from '../adapters/ports.ts';
import { associationRoot, parseDataRepositoryPath } from '../core/association.ts';
import type { Association } from '../core/types.ts';
import type { DeleteBudget } from './delete-budget.ts';
import type { LargeTransfers } from './large-plan.ts';
import type { Side } from './transfer.ts';

// What apply, act, rename and the large-file path share. It imports none of
// them, so the sync modules depend on it one way (docs/architecture.md §2.1).

/** Everything `apply` needs, injected. */
export interface ApplyDeps {
  store: ObjectStore;
  tree: FileTree;
  ledger: Ledger;
  events: EventPublisher;
  getAssociation(associationId: string): Promise<Association | undefined>;
  /** Where the shared file system is mounted (`/mnt/fs` in Lambda, `--root` locally). */
  fileSystemRoot: string;
  /** This worker's identity, for leases. */
  owner: string;
  /** Host name used in conflict copies' names. */
  host: string;
  restoreOwner: boolean;
  /** Charged before every delete; pauses a mass delete (src/sync/delete-budget.ts). */
  deleteBudget?: Pick<DeleteBudget, 'charge'>;
  /** Imports and exports above its threshold leave for a STANDARD execution (src/sync/large.ts). */
  largeTransfers?: LargeTransfers;
  leaseTtlMs?: number;
  now?: () => number;
}

/** Lifecycles in which events are acted on. */
const ACTIVE = new Set(['CREATING', 'AVAILABLE', 'UPDATING']);

export function isActive(association: Association): boolean {
  return ACTIVE.has(association.lifecycle);
}

/** The association's two sides, as apply and the large-file path act on them. */
export function sideOf(association: Association, deps: ApplyDeps): Side {
  return {
    tree: deps.tree,
    store: deps.store,
    root: associationRoot(deps.fileSystemRoot, association),
    location: parseDataRepositoryPath(association.dataRepositoryPath),
    restoreOwner: deps.restoreOwner,
  };
}
