import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { BudgetCount, BudgetWindow, DeleteBudgetStore } from './ports.ts';

export interface DynamoDeleteBudgetStoreOptions {
  client: DynamoDBDocumentClient;
  /** The tasks table: budget items are keyed `budget#<associationId>#<window>`. */
  tableName: string;
}

/** The item key of a window in the tasks table. */
export function budgetItemKey({ associationId, window }: BudgetWindow): string {
  return `budget#${associationId}#${window}`;
}

/**
 * Budget windows as items of the tasks table (`taskId` = `budget#<id>#<window>`,
 * `itemType` = budget, `paths`, `deletes`, TTL `expiresAt`), each change one
 * conditional update so concurrent workers count together.
 */
export class DynamoDeleteBudgetStore implements DeleteBudgetStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor(options: DynamoDeleteBudgetStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async read(key: BudgetWindow): Promise<BudgetCount | undefined> {
    const { Item } = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { taskId: budgetItemKey(key) },
        ConsistentRead: true,
      }),
    );
    if (!Item) return undefined;
    return {
      ...(typeof Item.paths === 'number' ? { paths: Item.paths } : {}),
      deletes: Number(Item.deletes ?? 0),
    };
  }

  async recordPaths(key: BudgetWindow, paths: number, expiresAt: number): Promise<number> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { taskId: budgetItemKey(key) },
          UpdateExpression: 'SET paths = :paths, itemType = :type, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(paths)',
          ExpressionAttributeValues: { ':paths': paths, ':type': 'budget', ':expires': expiresAt },
        }),
      );
      return paths;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return (await this.read(key))?.paths ?? paths;
    }
  }

  async charge(key: BudgetWindow, limit: number, expiresAt: number): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { taskId: budgetItemKey(key) },
          UpdateExpression: 'ADD deletes :one SET expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(deletes) OR deletes < :limit',
          ExpressionAttributeValues: { ':one': 1, ':limit': limit, ':expires': expiresAt },
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }

  async clear(key: BudgetWindow): Promise<void> {
    await this.#client.send(
      new DeleteCommand({ TableName: this.#tableName, Key: { taskId: budgetItemKey(key) } }),
    );
  }
}

interface StoredWindow extends BudgetCount {
  charged?: boolean;
  expiresAt: number;
}

/**
 * Budget windows in this process's memory, for one process (tests, a single
 * local worker). Each method runs without awaiting, so concurrent calls are atomic.
 */
export class MemoryDeleteBudgetStore implements DeleteBudgetStore {
  readonly #windows = new Map<string, StoredWindow>();

  async read(key: BudgetWindow): Promise<BudgetCount | undefined> {
    const stored = this.#windows.get(budgetItemKey(key));
    if (!stored) return undefined;
    return { ...(stored.paths === undefined ? {} : { paths: stored.paths }), deletes: stored.deletes };
  }

  async recordPaths(key: BudgetWindow, paths: number, expiresAt: number): Promise<number> {
    const stored = this.#entry(key, expiresAt);
    stored.paths ??= paths;
    return stored.paths;
  }

  async charge(key: BudgetWindow, limit: number, expiresAt: number): Promise<boolean> {
    const stored = this.#windows.get(budgetItemKey(key));
    // As the DynamoDB condition: a window never charged takes its first delete whatever the limit.
    if (stored?.charged && stored.deletes >= limit) return false;
    const entry = this.#entry(key, expiresAt);
    entry.deletes++;
    entry.charged = true;
    return true;
  }

  async clear(key: BudgetWindow): Promise<void> {
    this.#windows.delete(budgetItemKey(key));
  }

  #entry(key: BudgetWindow, expiresAt: number): StoredWindow {
    const id = budgetItemKey(key);
    const stored = this.#windows.get(id) ?? { deletes: 0, expiresAt };
    stored.expiresAt = expiresAt;
    this.#windows.set(id, stored);
    return stored;
  }
}
