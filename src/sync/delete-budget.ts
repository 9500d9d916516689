import type { AssociationStore, BudgetWindow, DeleteBudgetStore, Ledger } from '../adapters/ports.ts';
import { SyncError } from '../core/errors.ts';
import { withDefaults } from '../core/options.ts';
import type { Association } from '../core/types.ts';

/**
 * Delete safety beyond the sentinel (docs/architecture.md §2, §6.4): every delete of a
 * file or object is charged to a per-association counter (the
 * DeleteBudgetStore port; DynamoDB in a stack), one per time window,
 * incremented atomically with a condition — so concurrent executions count together. Past the budget, or when the root
 * is empty while the ledger lists many paths, the association is paused as
 * MISCONFIGURED (with the reason) and deletes nothing until it is resumed.
 */

export interface DeleteBudgetOptions {
  /** The window counters (src/adapters/delete-budget-store.ts). */
  store: DeleteBudgetStore;
  ledger: Ledger;
  associations: AssociationStore;
  /** Share of the association's paths that may be deleted per window. Default 0.5. */
  maxShare?: number;
  /** Deletes per window, whatever the share. Default 10,000. */
  maxCount?: number;
  /** Deletes per window that never trip the share (small associations). Default 20. */
  freeDeletes?: number;
  /** An empty root is a lost mount, not a deletion, once the ledger lists this many paths. Default 20. */
  emptyRootMinPaths?: number;
  windowMs?: number;
  now?: () => number;
}

/** The association was paused instead of deleting; `resume` lets it act again. */
export class DeleteBudgetExceededError extends SyncError {
  constructor(message: string) {
    super('DeleteBudgetExceeded', message);
  }
}

/** A window's counter outlives the window by a day, then the store may drop it (the tasks table's TTL). */
const BUDGET_ITEM_GRACE_MS = 24 * 3600_000;

/** The documented defaults of DeleteBudgetOptions. */
export const DELETE_BUDGET_DEFAULTS = {
  maxShare: 0.5,
  maxCount: 10_000,
  freeDeletes: 20,
  emptyRootMinPaths: 20,
  windowMs: 10 * 60_000,
  now: Date.now as () => number,
};

export type DeleteKind = 'deleteObject' | 'deleteFile';

export class DeleteBudget {
  readonly #options: Required<Omit<DeleteBudgetOptions, 'store' | 'ledger' | 'associations'>> &
    DeleteBudgetOptions;

  constructor(options: DeleteBudgetOptions) {
    this.#options = withDefaults(DELETE_BUDGET_DEFAULTS, options);
  }

  #window(): number {
    return Math.floor(this.#options.now() / this.#options.windowMs);
  }

  #key(associationId: string): BudgetWindow {
    return { associationId, window: this.#window() };
  }

  /** Epoch seconds the store may forget a window at: a day after the window ends. */
  #expiresAt(): number {
    return Math.ceil(((this.#window() + 1) * this.#options.windowMs + BUDGET_ITEM_GRACE_MS) / 1000);
  }

  /**
   * Charges one delete. `rootEmpty` is asked before an object delete: a root
   * that shows nothing while the ledger lists many paths is an empty mount.
   * @throws DeleteBudgetExceededError after pausing the association.
   */
  async charge(association: Association, kind: DeleteKind, rootEmpty: () => Promise<boolean>): Promise<void> {
    const key = this.#key(association.associationId);
    const paths = await this.#basePaths(key);
    if (kind === 'deleteObject' && paths >= this.#options.emptyRootMinPaths && (await rootEmpty())) {
      await this.#pause(
        association,
        `the file-system root is empty while the ledger lists ${paths} synced paths (an empty or unmounted root?); nothing was deleted`,
      );
    }
    const limit = Math.min(
      this.#options.maxCount,
      Math.max(this.#options.freeDeletes, Math.floor(paths * this.#options.maxShare)),
    );
    if (!(await this.#options.store.charge(key, limit, this.#expiresAt()))) {
      await this.#pause(
        association,
        `more than ${limit} deletes of its ${paths} synced paths within ${Math.round(this.#options.windowMs / 60_000)} minutes (budget: ${Math.round(this.#options.maxShare * 100)} % or ${this.#options.maxCount}); the rest were held back`,
      );
    }
  }

  /** Forgets the current window's count (on `resume`). */
  async reset(associationId: string): Promise<void> {
    await this.#options.store.clear(this.#key(associationId));
  }

  /** The association's size at the window's start, counted once per window from the ledger. */
  async #basePaths(key: BudgetWindow): Promise<number> {
    const known = (await this.#options.store.read(key))?.paths;
    if (known !== undefined) return known;
    let paths = 0;
    for await (const rows of this.#options.ledger.list(key.associationId)) {
      paths += rows.filter((row) => row.state === 'present').length;
    }
    // A concurrent worker may have counted first: the store keeps its figure, so all share one limit.
    return this.#options.store.recordPaths(key, paths, this.#expiresAt());
  }

  async #pause(association: Association, reason: string): Promise<never> {
    const current = (await this.#options.associations.get(association.associationId)) ?? association;
    if (current.lifecycle !== 'MISCONFIGURED') {
      await this.#options.associations.put({
        ...current,
        lifecycle: 'MISCONFIGURED',
        failureDetails: {
          message: `paused: ${reason}; run \`bucketlink associations resume ${association.associationId}\``,
        },
      });
    }
    throw new DeleteBudgetExceededError(`${association.associationId} paused: ${reason}`);
  }
}
