import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * The DynamoDB tables bucketlink uses and their key schemas, kept in one place
 * so local mode, the tests and serverless.yml (which mirrors these inputs for
 * CloudFormation) cannot drift apart.
 */

/** The physical names of bucketlink's tables. */
export interface TableNames {
  ledger: string;
  associations: string;
  tasks: string;
}

/** Table names for a stack or a local state directory, e.g. `bucketlink-ledger`. */
export function defaultTableNames(prefix = 'bucketlink'): TableNames {
  return { ledger: `${prefix}-ledger`, associations: `${prefix}-associations`, tasks: `${prefix}-tasks` };
}

/**
 * How many partitions one association's ledger rows are spread over. A bulk
 * import writes thousands of rows of one association at once; sharding keeps
 * them off a single DynamoDB partition. Changing it orphans existing rows.
 */
export const LEDGER_SHARDS = 16;

/** The ledger's GSI on (`inoKey`, `sk`), used to pair a deleted path with a new one on rename. */
export const LEDGER_INO_INDEX = 'byIno';

/**
 * The attribute DynamoDB TTL deletes tombstones by (epoch seconds). CloudFormation
 * enables TTL on it; dynalite has no TTL, so readers also ignore expired rows.
 */
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';

/** FNV-1a, 32 bit, over UTF-8: tiny, stable across runtimes, and spreads short paths well. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The shard of a relative path: siblings share one, so a directory's rows stay together. */
export function ledgerShard(path: string): number {
  const slash = path.lastIndexOf('/');
  const parent = slash < 0 ? '' : path.slice(0, slash);
  return fnv1a(parent) % LEDGER_SHARDS;
}

/** The ledger partition key of a path: `<associationId>#<shard>`. */
export function ledgerPartition(associationId: string, path: string): string {
  return `${associationId}#${ledgerShard(path)}`;
}

/** Every partition key an association's rows can live under. */
export function ledgerPartitions(associationId: string): string[] {
  return Array.from({ length: LEDGER_SHARDS }, (_, shard) => `${associationId}#${shard}`);
}

/** The `inoKey` GSI partition of a file: `<associationId>#<ino>`. */
export function ledgerInoKey(associationId: string, ino: string): string {
  return `${associationId}#${ino}`;
}

/** CreateTable inputs for every table; serverless.yml mirrors these key schemas. */
export function tableDefinitions(names: TableNames): CreateTableCommandInput[] {
  return [
    {
      TableName: names.ledger,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'inoKey', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      // KEYS_ONLY: renames are rare and a GSI is eventually consistent anyway, so
      // a hit is re-read from the table; every ledger write stays cheap.
      GlobalSecondaryIndexes: [
        {
          IndexName: LEDGER_INO_INDEX,
          KeySchema: [
            { AttributeName: 'inoKey', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ],
    },
    {
      TableName: names.associations,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'associationId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'associationId', KeyType: 'HASH' }],
    },
    {
      TableName: names.tasks,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'taskId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
    },
  ];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Create the tables that do not exist yet and wait until all are ACTIVE. For
 * local mode and tests: on AWS, CloudFormation owns the tables (with TTL and
 * PITR, which dynalite does not implement).
 */
export async function ensureTables(
  client: DynamoDBClient | DynamoDBDocumentClient,
  names: TableNames,
  options: { timeoutMs?: number } = {},
): Promise<void> {
  // A DocumentClient shares its DynamoDBClient's middleware stack, so it
  // sends plain client-dynamodb commands unchanged.
  const dynamo = client as DynamoDBClient;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (const definition of tableDefinitions(names)) {
    const { TableName } = definition;
    for (;;) {
      const status = await tableStatus(dynamo, TableName!);
      if (status === 'ACTIVE') break;
      if (Date.now() > deadline) throw new Error(`table ${TableName} is still ${status ?? 'missing'}`);
      if (status !== undefined) {
        await sleep(50);
        continue;
      }
      try {
        await dynamo.send(new CreateTableCommand(definition));
      } catch (error) {
        // Another process (a second test file, a restarted runtime) won the race.
        if (!(error instanceof ResourceInUseException)) throw error;
      }
    }
  }
}

async function tableStatus(client: DynamoDBClient, tableName: string): Promise<string | undefined> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    return Table?.TableStatus ?? 'CREATING';
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}
