import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAssociationStore } from '../../../src/adapters/association-store.ts';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import { MemoryDeleteBudgetStore } from '../../../src/adapters/delete-budget-store.ts';
import { SqliteLedger } from '../../../src/adapters/ledger-sqlite.ts';
import { defaultTableNames, ensureTables } from '../../../src/adapters/tables.ts';
import { TransientError } from '../../../src/core/errors.ts';
import type { Association } from '../../../src/core/types.ts';
import { type DynamoServer, startDynamoServer } from '../../../src/local/peers.ts';
import { DeleteBudget, DeleteBudgetExceededError } from '../../../src/sync/delete-budget.ts';
import { FaultPlan, faultyDeleteBudgetStore } from '../../support/faults.ts';
import { newAssociationId, presentFile } from '../adapters/ledger-contract.ts';

/**
 * The delete-budget policy over the in-memory DeleteBudgetStore: it needs
 * nothing of DynamoDB but the port. Associations are on dynalite (the pause
 * is a real write), the ledger is SQLite in memory.
 */
/** A fixed clock, and its window under DeleteBudget's default 10 minutes. */
const NOW = 1_700_000_000_000;
const NOW_WINDOW = Math.floor(NOW / 600_000);

describe('DeleteBudget over the in-memory store', () => {
  let dynamo: DynamoServer;
  let client: DynamoDBDocumentClient;
  let associations: DynamoAssociationStore;
  const ledger = new SqliteLedger({ path: ':memory:' });

  beforeAll(async () => {
    dynamo = await startDynamoServer({});
    client = createDocumentClient({ endpoint: dynamo.endpoint });
    const names = defaultTableNames('budget-policy');
    await ensureTables(client, names);
    associations = new DynamoAssociationStore({ client, tableName: names.associations });
  });
  afterAll(async () => {
    ledger.close();
    client?.destroy();
    await dynamo?.close();
  });

  async function associationWith(paths: number): Promise<Association> {
    const association: Association = {
      associationId: newAssociationId(),
      fileSystemPath: '/policy',
      dataRepositoryPath: 's3://policy/',
      autoImport: ['NEW', 'CHANGED', 'DELETED'],
      autoExport: ['NEW', 'CHANGED', 'DELETED'],
      batchImportMetaDataOnCreate: true,
      conflictPolicy: 'KEEP_BOTH',
      lifecycle: 'AVAILABLE',
      creationTime: new Date().toISOString(),
    };
    await associations.put(association);
    for (let i = 0; i < paths; i++) await synced(association, `f${i}`);
    return association;
  }

  async function synced(association: Association, path: string): Promise<void> {
    const taken = await ledger.acquire(association.associationId, path, 'test', 60_000);
    if (!taken.acquired) throw new Error(`no lease on ${path}`);
    await ledger.commit(association.associationId, path, taken.lease, presentFile());
  }

  const notEmpty = async () => false;
  const lifecycle = async (association: Association) =>
    (await associations.get(association.associationId))?.lifecycle;

  it('lets two workers sharing the store delete exactly half the paths together, then pauses', async () => {
    const association = await associationWith(16);
    const store = new MemoryDeleteBudgetStore();
    const workers = [1, 2].map(
      () => new DeleteBudget({ store, ledger, associations, freeDeletes: 2, now: () => NOW }),
    );
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        (workers[i % 2] as DeleteBudget).charge(association, 'deleteFile', notEmpty),
      ),
    );

    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(8);
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    expect(refused).toHaveLength(4);
    for (const error of refused) expect(error).toBeInstanceOf(DeleteBudgetExceededError);
    expect(refused[0].message).toContain('more than 8 deletes of its 16 synced paths');
    expect(await lifecycle(association)).toBe('MISCONFIGURED');
    expect(await store.read({ associationId: association.associationId, window: NOW_WINDOW })).toEqual({
      paths: 16,
      deletes: 8,
    });
  });

  it('pauses on an empty root before charging anything', async () => {
    const association = await associationWith(4);
    const store = new MemoryDeleteBudgetStore();
    const budget = new DeleteBudget({ store, ledger, associations, emptyRootMinPaths: 4, now: () => NOW });

    const refused = await budget.charge(association, 'deleteObject', async () => true).catch((e) => e);

    expect(refused).toBeInstanceOf(DeleteBudgetExceededError);
    expect(refused.message).toContain('the file-system root is empty while the ledger lists 4 synced paths');
    expect(await lifecycle(association)).toBe('MISCONFIGURED');
    const key = { associationId: association.associationId, window: NOW_WINDOW };
    expect((await store.read(key))?.deletes).toBe(0);
  });

  it('counts the paths once per window, and again in the next one; reset forgets the window', async () => {
    const association = await associationWith(4);
    const store = new MemoryDeleteBudgetStore();
    const clock = { now: 1_700_000_000_000 };
    const budget = new DeleteBudget({
      store,
      ledger,
      associations,
      freeDeletes: 1,
      windowMs: 60_000,
      now: () => clock.now,
    });
    const window = Math.floor(clock.now / 60_000);
    const key = { associationId: association.associationId, window };

    await budget.charge(association, 'deleteFile', notEmpty);
    await budget.charge(association, 'deleteFile', notEmpty); // 2 of 4 paths: the budget
    for (let i = 4; i < 10; i++) await synced(association, `f${i}`);
    await expect(budget.charge(association, 'deleteFile', notEmpty)).rejects.toThrow(
      /more than 2 deletes of its 4/,
    );

    await budget.reset(association.associationId);
    expect(await store.read(key)).toBeUndefined();
    await budget.charge(association, 'deleteFile', notEmpty); // recounted: 10 paths
    expect(await store.read(key)).toEqual({ paths: 10, deletes: 1 });

    clock.now += 60_000;
    await budget.charge(association, 'deleteFile', notEmpty);
    expect(await store.read({ ...key, window: window + 1 })).toEqual({ paths: 10, deletes: 1 });
    expect((await store.read(key))?.deletes).toBe(1);
  });

  it('counts a delete whose charge lost its answer, and pauses nothing on a throttled charge', async () => {
    const association = await associationWith(0);
    const inner = new MemoryDeleteBudgetStore();
    // Two draws a call (before, after): the read and the size record pass, the charge is throttled;
    // then the read passes and the charge acts, then loses its answer.
    const draws = [0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9, 0.1];
    const plan = new FaultPlan(() => draws.shift() ?? 0.9);
    plan.rate = 0.5;
    const budget = new DeleteBudget({
      store: faultyDeleteBudgetStore(inner, plan),
      ledger,
      associations,
      freeDeletes: 1,
      now: () => NOW,
    });
    const key = { associationId: association.associationId, window: NOW_WINDOW };

    await expect(budget.charge(association, 'deleteFile', notEmpty)).rejects.toThrow(/ThrottlingException/);
    expect(await inner.read(key)).toEqual({ paths: 0, deletes: 0 });
    const lost = await budget.charge(association, 'deleteFile', notEmpty).catch((error) => error);
    expect(lost).toBeInstanceOf(TransientError);
    expect(lost.message).toContain('ECONNRESET');
    expect(await inner.read(key)).toEqual({ paths: 0, deletes: 1 });
    expect(await lifecycle(association)).toBe('AVAILABLE');
    // The delete that was never made still used the budget: the next one is held back.
    await expect(budget.charge(association, 'deleteFile', notEmpty)).rejects.toBeInstanceOf(
      DeleteBudgetExceededError,
    );
    expect(plan.injected).toMatchObject({ slowDown: 1, connectionReset: 1 });
  });
});
