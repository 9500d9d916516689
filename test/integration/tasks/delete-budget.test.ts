import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { taskHarness } from './harness.ts';

describe('the delete budget', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('lets concurrent batches delete exactly up to half the paths, then pauses the association', async () => {
    await stack.createBucket('budget');
    const association = await stack.associate('/budget', 's3://budget/', {
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'budget');
    await mkdir(join(root, 'gone'), { recursive: true });
    const names = Array.from({ length: 60 }, (_, i) => (i < 40 ? `gone/f${i}.txt` : `stay${i}.txt`));
    for (const name of names) await writeFile(join(root, name), name);
    const tasks = await taskHarness(stack);
    const exported = await tasks.run({
      type: 'EXPORT_TO_REPOSITORY',
      associationId: association.associationId,
    });
    expect(exported.status.failedCount).toBe(0);
    const objects = async () =>
      (await stack.s3.send(new ListObjectsV2Command({ Bucket: 'budget' }))).Contents?.length ?? 0;
    expect(await objects()).toBe(60);

    // 40 of the 60 synced files disappear (the directory is implied, not a ledger row); the budget is 30.
    await rm(join(root, 'gone'), { recursive: true });
    const task = await tasks.run({
      type: 'RECONCILE',
      associationId: association.associationId,
      reportPath: 's3://budget/reports/',
    });

    expect(await objects()).toBe(60 - 30 + 2); // 30 deleted; the report's two objects added
    const paused = await stack.adapters.associations.get(association.associationId);
    expect(paused?.lifecycle).toBe('MISCONFIGURED');
    expect(paused?.failureDetails?.message).toMatch(/more than 30 deletes of its 60 synced paths/);
    expect(task.status.failedCount).toBeGreaterThan(0);

    // The budget's window item expires (the tasks table's TTL attribute), a day after its window.
    const { Items = [] } = await createDocumentClient({ endpoint: stack.config.dynamodbEndpoint }).send(
      new ScanCommand({ TableName: stack.config.tables.tasks }),
    );
    const budgets = Items.filter((item) => String(item.taskId).startsWith('budget#'));
    expect(budgets.length).toBeGreaterThan(0);
    const nowSeconds = Date.now() / 1000;
    for (const item of budgets) {
      expect(item.expiresAt).toBeGreaterThan(nowSeconds + 23 * 3600);
      expect(item.expiresAt).toBeLessThan(nowSeconds + 25 * 3600);
    }
  }, 300_000);
});
