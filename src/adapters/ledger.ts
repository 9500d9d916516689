import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError, LedgerConflictError } from '../core/errors.ts';
import type { LedgerEntry } from '../core/types.ts';
import { rowUpdate, toLease, toLedgerEntry, wantedSince } from './ledger-items.ts';
import type { Acquired, Lease, Ledger, LedgerWrite } from './ports.ts';
import { LEDGER_INO_INDEX, ledgerInoKey, ledgerPartition, ledgerPartitions } from './tables.ts';

export { TOMBSTONE_TTL_MS } from './ledger-items.ts';

/**
 * The ledger in DynamoDB, built only from single-item conditional writes:
 * dynalite (local mode) has no transactions, and one item per path is all the
 * protocol needs.
 *
 * The lease protocol: a worker takes a path's lease by a conditional update.
 * A worker that finds it taken bumps the row's `wanted` counter, on condition
 * that someone else still holds the lease. The holder snapshot `wanted` when it
 * acquired and compares at commit/release, so every loser either gets the lease
 * or is seen by the holder, who re-plans (`rerun`). If the lease vanished
 * between the two writes the loser simply tries to take it again.
 */

/** How many times acquire retries when the lease keeps changing hands between its two writes. */
const ACQUIRE_ATTEMPTS = 5;

const BATCH_WRITE_MAX = 25;
const BATCH_GET_MAX = 100;

/** Options of DynamoLedger; `now` lets tests move time (lease and tombstone expiry). */
export interface DynamoLedgerOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  now?: () => number;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The ledger of what was last synced, one DynamoDB item per (association, path). */
export class DynamoLedger implements Ledger {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly now: () => number;

  constructor(options: DynamoLedgerOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.now = options.now ?? Date.now;
  }

  /** The row for a path; undefined for none, a lease-only row or an expired tombstone. */
  async get(associationId: string, path: string): Promise<LedgerEntry | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: this.key(associationId, path), ConsistentRead: true }),
    );
    return toLedgerEntry(associationId, Item, this.now());
  }

  /**
   * The rows of many paths of one association, in the order asked, read
   * consistently 100 at a time (BatchGetItem); keys DynamoDB leaves
   * unprocessed are asked again.
   */
  async getMany(associationId: string, paths: string[]): Promise<Array<LedgerEntry | undefined>> {
    const found = new Map<string, Record<string, unknown>>();
    const unique = [...new Set(paths)];
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX) {
      let keys: Array<Record<string, unknown>> | undefined = unique
        .slice(start, start + BATCH_GET_MAX)
        .map((path) => this.key(associationId, path));
      for (let attempt = 0; keys && keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const { Responses, UnprocessedKeys }: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of Responses?.[this.tableName] ?? []) found.set(String(item.sk), item);
        keys = UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    const now = this.now();
    return paths.map((path) => toLedgerEntry(associationId, found.get(path), now));
  }

  /**
   * Take the lease, or make sure its holder will see that this owner asked.
   * Re-acquiring one's own lease extends it and resets the `wanted` snapshot.
   * Throws LeaseHeldError (retryable) if the lease changed hands between the
   * two writes on every attempt, so no loser goes unnoticed.
   */
  async acquire(associationId: string, path: string, owner: string, ttlMs: number): Promise<Acquired> {
    const key = this.key(associationId, path);
    for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS; attempt++) {
      const now = this.now();
      try {
        const { Attributes } = await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'SET leaseOwner = :owner, leaseUntil = :until',
            ConditionExpression:
              'attribute_not_exists(leaseOwner) OR leaseUntil < :now OR leaseOwner = :owner',
            ExpressionAttributeValues: { ':owner': owner, ':until': now + ttlMs, ':now': now },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { acquired: true, lease: toLease(associationId, owner, Attributes, now) };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression: 'ADD wanted :one',
            ConditionExpression:
              'attribute_exists(leaseOwner) AND leaseUntil >= :now AND leaseOwner <> :owner',
            ExpressionAttributeValues: { ':one': 1, ':now': this.now(), ':owner': owner },
          }),
        );
        return { acquired: false };
      } catch (error) {
        // The lease was released or expired in between: try to take it.
        if (!isConditionFailure(error)) throw error;
      }
    }
    throw new LeaseHeldError(path);
  }

  /** Write the row (or drop it) and release the lease, conditional on owner and rev. */
  async commit(
    associationId: string,
    path: string,
    lease: Lease,
    write: LedgerWrite,
  ): Promise<{ rerun: boolean }> {
    const revCondition = lease.rev === 0 ? 'attribute_not_exists(rev)' : 'rev = :rev';
    const conditionValues = { ':owner': lease.owner, ...(lease.rev === 0 ? {} : { ':rev': lease.rev }) };
    const base = {
      TableName: this.tableName,
      Key: this.key(associationId, path),
      ConditionExpression: `leaseOwner = :owner AND ${revCondition}`,
      ReturnValues: 'ALL_OLD' as const,
    };
    try {
      if (write === null) {
        const { Attributes } = await this.client.send(
          new DeleteCommand({ ...base, ExpressionAttributeValues: conditionValues }),
        );
        return { rerun: wantedSince(lease, Attributes) };
      }
      const update = rowUpdate(associationId, write, lease.rev + 1, this.now());
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          ...base,
          ...update,
          ExpressionAttributeValues: { ...update.ExpressionAttributeValues, ...conditionValues },
        }),
      );
      return { rerun: wantedSince(lease, Attributes) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new LedgerConflictError(
        `ledger row ${associationId}:${path} is no longer at rev ${lease.rev} under ${lease.owner}'s lease`,
      );
    }
  }

  /**
   * Release without writing. A row that exists only for this lease is deleted
   * (when nobody asked meanwhile), so lease-only rows do not pile up.
   */
  async release(associationId: string, path: string, lease: Lease): Promise<{ rerun: boolean }> {
    const key = this.key(associationId, path);
    if (lease.rev === 0) {
      try {
        await this.client.send(
          new DeleteCommand({
            TableName: this.tableName,
            Key: key,
            ConditionExpression:
              'leaseOwner = :owner AND attribute_not_exists(rev) AND (attribute_not_exists(wanted) OR wanted <= :wanted)',
            ExpressionAttributeValues: { ':owner': lease.owner, ':wanted': lease.wanted },
          }),
        );
        return { rerun: false };
      } catch (error) {
        // Someone asked meanwhile (or the lease is gone): the update below tells which.
        if (!isConditionFailure(error)) throw error;
      }
    }
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'REMOVE leaseOwner, leaseUntil',
          ConditionExpression: 'leaseOwner = :owner',
          ExpressionAttributeValues: { ':owner': lease.owner },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return { rerun: wantedSince(lease, Attributes) };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      throw new LedgerConflictError(`lease on ${associationId}:${path} is no longer held by ${lease.owner}`);
    }
  }

  /** Every live row of an association, shard by shard, in pages (consistent reads). */
  async *list(associationId: string): AsyncIterable<LedgerEntry[]> {
    for await (const items of this.queryShards(associationId)) {
      const now = this.now();
      const entries = items.flatMap((item) => toLedgerEntry(associationId, item, now) ?? []);
      if (entries.length > 0) yield entries;
    }
  }

  /** Delete every row of an association, leases and tombstones included. */
  async clear(associationId: string): Promise<void> {
    for await (const items of this.queryShards(associationId, 'pk, sk')) {
      for (let start = 0; start < items.length; start += BATCH_WRITE_MAX) {
        const requests = items
          .slice(start, start + BATCH_WRITE_MAX)
          .map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } }));
        await this.batchWrite(requests);
      }
    }
  }

  /**
   * Present rows whose file had inode `ino` when last synced, for pairing a
   * rename. The index is eventually consistent, so hits are re-read and checked.
   */
  async findByIno(associationId: string, ino: string): Promise<LedgerEntry[]> {
    const found: LedgerEntry[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: LEDGER_INO_INDEX,
          KeyConditionExpression: 'inoKey = :inoKey',
          ExpressionAttributeValues: { ':inoKey': ledgerInoKey(associationId, ino) },
          ExclusiveStartKey,
        }),
      );
      for (const item of page.Items ?? []) {
        const entry = await this.get(associationId, String(item.sk));
        if (entry?.state === 'present' && entry.fs?.ino === ino) found.push(entry);
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return found;
  }

  private key(associationId: string, path: string): { pk: string; sk: string } {
    return { pk: ledgerPartition(associationId, path), sk: path };
  }

  private async *queryShards(
    associationId: string,
    projection?: string,
  ): AsyncIterable<Record<string, unknown>[]> {
    for (const pk of ledgerPartitions(associationId)) {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ConsistentRead: true,
            ExclusiveStartKey,
            ...(projection ? { ProjectionExpression: projection } : {}),
          }),
        );
        yield page.Items ?? [];
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    }
  }

  /** BatchWrite with retries of what DynamoDB left unprocessed (throttling). */
  private async batchWrite(requests: Array<{ DeleteRequest: { Key: Record<string, unknown> } }>) {
    let pending: typeof requests | undefined = requests;
    for (let attempt = 0; pending && pending.length > 0; attempt++) {
      if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
      const { UnprocessedItems } = await this.client.send(
        new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
      );
      pending = UnprocessedItems?.[this.tableName] as typeof requests | undefined;
    }
  }
}
