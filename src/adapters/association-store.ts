import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import type { Association } from '../core/types.ts';
import type { AssociationStore } from './ports.ts';

/** Options of DynamoAssociationStore. */
export interface DynamoAssociationStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * Associations in DynamoDB, one item each, keyed by `associationId`, stored as
 * the Association's own attributes so the table reads like the FSx API.
 */
export class DynamoAssociationStore implements AssociationStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoAssociationStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  /** Create or replace an association. */
  async put(association: Association): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: association }));
  }

  /** One association, read consistently (control reads right after writes). */
  async get(associationId: string): Promise<Association | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { associationId }, ConsistentRead: true }),
    );
    return Item as Association | undefined;
  }

  /** Every association, ordered by id (a Scan has no useful order of its own). */
  async list(): Promise<Association[]> {
    const associations: Association[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.tableName, ConsistentRead: true, ExclusiveStartKey }),
      );
      associations.push(...((page.Items ?? []) as Association[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return associations.sort((a, b) => (a.associationId < b.associationId ? -1 : 1));
  }

  /** Remove an association; deleting one that does not exist is not an error. */
  async delete(associationId: string): Promise<void> {
    await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: { associationId } }));
  }
}
