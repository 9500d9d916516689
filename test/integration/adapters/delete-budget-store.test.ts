import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import {
  DynamoDeleteBudgetStore,
  MemoryDeleteBudgetStore,
} from '../../../src/adapters/delete-budget-store.ts';
import { defaultTableNames, ensureTables } from '../../../src/adapters/tables.ts';
import { type DynamoServer, startDynamoServer } from '../../../src/local/peers.ts';
import { deleteBudgetStoreContract } from './delete-budget-store-contract.ts';
import { newAssociationId } from './ledger-contract.ts';

const names = defaultTableNames('budget-store-test');
let server: DynamoServer;
/** One client per worker, as separate invocations would hold; destroyed at the end. */
const clients: DynamoDBDocumentClient[] = [];

function client(): DynamoDBDocumentClient {
  const made = createDocumentClient({ endpoint: server.endpoint });
  clients.push(made);
  return made;
}

beforeAll(async () => {
  server = await startDynamoServer({});
  await ensureTables(client(), names);
});

afterAll(async () => {
  for (const made of clients) made.destroy();
  await server?.close();
});

deleteBudgetStoreContract(
  'DynamoDeleteBudgetStore on dynalite',
  () => new DynamoDeleteBudgetStore({ client: client(), tableName: names.tasks }),
);

const memory = new MemoryDeleteBudgetStore();
deleteBudgetStoreContract('MemoryDeleteBudgetStore', () => memory);

describe('DynamoDeleteBudgetStore items', () => {
  it('keeps a window as the tasks-table item budget#<id>#<window> with its TTL attribute', async () => {
    const documents = clients[0] as DynamoDBDocumentClient;
    const store = new DynamoDeleteBudgetStore({ client: documents, tableName: names.tasks });
    const key = { associationId: newAssociationId(), window: 2_900_123 };
    await store.recordPaths(key, 12, 1_800_000_100);
    await store.charge(key, 5, 1_800_000_200);

    const { Item } = await documents.send(
      new GetCommand({ TableName: names.tasks, Key: { taskId: `budget#${key.associationId}#2900123` } }),
    );
    expect(Item).toEqual({
      taskId: `budget#${key.associationId}#2900123`,
      itemType: 'budget',
      paths: 12,
      deletes: 1,
      expiresAt: 1_800_000_200,
    });
  });
});
