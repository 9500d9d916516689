import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAssociationStore } from '../../../src/adapters/association-store.ts';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import { DynamoDeleteBudgetStore } from '../../../src/adapters/delete-budget-store.ts';
import { DynamoLedger } from '../../../src/adapters/ledger.ts';
import { defaultTableNames, ensureTables } from '../../../src/adapters/tables.ts';
import type { Association } from '../../../src/core/types.ts';
import { type DynamoServer, startDynamoServer } from '../../../src/local/peers.ts';
import {
  DELETE_BUDGET_DEFAULTS,
  DeleteBudget,
  DeleteBudgetExceededError,
} from '../../../src/sync/delete-budget.ts';

/** DeleteBudget's documented defaults hold when its options are passed as undefined (against dynalite). */
describe('DeleteBudget defaults', () => {
  let dynamo: DynamoServer;
  beforeAll(async () => {
    dynamo = await startDynamoServer({});
  });
  afterAll(async () => {
    await dynamo?.close();
  });

  it('keeps 20 free deletes, a 10-minute window and the 50 % / 10,000 budget when every option is undefined', async () => {
    const client = createDocumentClient({ endpoint: dynamo.endpoint });
    const names = defaultTableNames('defaults');
    await ensureTables(client, names);
    const ledger = new DynamoLedger({ client, tableName: names.ledger });
    const associations = new DynamoAssociationStore({ client, tableName: names.associations });
    const association: Association = {
      associationId: 'dra-0000000000000000a',
      fileSystemPath: '/budget',
      dataRepositoryPath: 's3://budget/',
      autoImport: ['NEW', 'CHANGED', 'DELETED'],
      autoExport: ['NEW', 'CHANGED', 'DELETED'],
      batchImportMetaDataOnCreate: true,
      conflictPolicy: 'KEEP_BOTH',
      lifecycle: 'AVAILABLE',
      creationTime: new Date().toISOString(),
    };
    await associations.put(association);
    const budget = new DeleteBudget({
      store: new DynamoDeleteBudgetStore({ client, tableName: names.tasks }),
      ledger,
      associations,
      maxShare: undefined,
      maxCount: undefined,
      freeDeletes: undefined,
      emptyRootMinPaths: undefined,
      windowMs: undefined,
      now: undefined,
    });
    const notEmpty = async () => false;

    // An empty ledger: the share allows 0, the free deletes 20.
    for (let i = 0; i < DELETE_BUDGET_DEFAULTS.freeDeletes; i++) {
      await budget.charge(association, 'deleteFile', notEmpty);
    }
    const refused = await budget.charge(association, 'deleteFile', notEmpty).catch((error) => error);

    expect(refused).toBeInstanceOf(DeleteBudgetExceededError);
    expect(refused.message).toContain('more than 20 deletes of its 0 synced paths within 10 minutes');
    expect(refused.message).toContain('budget: 50 % or 10000');
    expect((await associations.get(association.associationId))?.lifecycle).toBe('MISCONFIGURED');
  });
});
