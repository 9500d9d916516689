import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AssociationStore, Ledger } from '../adapters/ports.ts';
import { SyncError } from '../core/errors.ts';
import { withDefaults } from '../core/options.ts';
import type { Association } from '../core/types.ts';

/**
 * Delete safety beyond the sentinel (docs/architecture.md §2, §6.4): every delete of a
 * file or object is charged to a per-association counter in DynamoDB, one
 * item per time window, incremented atomically with a condition — so
 * concurrent executions count together. Past the budget, or when the root
 * is empty while the ledger lists many paths, the association is paused as
 * MISCONFIGURED (with the reason) and deletes nothing until it is resumed.
 */

export interface DeleteBudgetOptions {
  client: DynamoDBDocumentClient;
  /** The tasks table: budget items are keyed `budget#<associationId>#<window>`. */
  tableName: string;
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

/** A window's budget item outlives the window by a day, then the tasks table's TTL (expiresAt) removes it. */
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
  readonly #options: Required<Omit<DeleteBudgetOptions, 'client' | 'ledger' | 'associations' | 'tableName'>> &
    DeleteBudgetOptions;

  constructor(options: DeleteBudgetOptions) {
    this.#options = withDefaults(DELETE_BUDGET_DEFAULTS, options);
  }

  #window(): number {
    return Math.floor(this.#options.now() / this.#options.windowMs);
  }

  #key(associationId: string): string {
    return `budget#${associationId}#${this.#window()}`;
  }

  /** Epoch seconds the tasks table's TTL removes a window's item at: a day after the window ends. */
  #expiresAt(): number {
    return Math.ceil(((this.#window() + 1) * this.#options.windowMs + BUDGET_ITEM_GRACE_MS) / 1000);
  }

  /**
   * Charges one delete. `rootEmpty` is asked before an object delete: a root
   * that shows nothing while the ledger lists many paths is an empty mount.
   * @throws DeleteBudgetExceededError after pausing the association.
   */
  async charge(association: Association, kind: DeleteKind, rootEmpty: () => Promise<boolean>): Promise<void> {
    const { client, tableName } = this.#options;
    const taskId = this.#key(association.associationId);
    const paths = await this.#basePaths(association.associationId, taskId);
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
    try {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { taskId },
          UpdateExpression: 'ADD deletes :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(deletes) OR deletes < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires': this.#expiresAt() },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      await this.#pause(
        association,
        `more than ${limit} deletes of its ${paths} synced paths within ${Math.round(this.#options.windowMs / 60_000)} minutes (budget: ${Math.round(this.#options.maxShare * 100)} % or ${this.#options.maxCount}); the rest were held back`,
      );
    }
  }

  /** Forgets the current window's count (on `resume`). */
  async reset(associationId: string): Promise<void> {
    await this.#options.client.send(
      new DeleteCommand({ TableName: this.#options.tableName, Key: { taskId: this.#key(associationId) } }),
    );
  }

  /** The association's size at the window's start, counted once per window from the ledger. */
  async #basePaths(associationId: string, taskId: string): Promise<number> {
    const { client, tableName } = this.#options;
    const { Item } = await client.send(
      new GetCommand({ TableName: tableName, Key: { taskId }, ConsistentRead: true }),
    );
    if (typeof Item?.paths === 'number') return Item.paths;
    let paths = 0;
    for await (const rows of this.#options.ledger.list(associationId)) {
      paths += rows.filter((row) => row.state === 'present').length;
    }
    try {
      await client.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { taskId },
          UpdateExpression: 'SET paths = :paths, itemType = :type, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(paths)',
          ExpressionAttributeValues: { ':paths': paths, ':type': 'budget', ':expires': this.#expiresAt() },
        }),
      );
      return paths;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // A concurrent worker counted first: use its figure, so all share one limit.
      const { Item: counted } = await client.send(
        new GetCommand({ TableName: tableName, Key: { taskId }, ConsistentRead: true }),
      );
      return Number(counted?.paths ?? paths);
    }
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
