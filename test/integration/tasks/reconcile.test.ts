import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Association } from '../../../src/core/types.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { inParallel, readObject, taskHarness } from './harness.ts';

const FILES = 150;

/**
 * A RECONCILE over a tree that is mostly in sync leases only what changed:
 * Prepare finds the rest in sync (a stat and a HEAD against the ledger row)
 * and counts it done without an apply.
 */
describe('a RECONCILE task over a synced tree', () => {
  let stack: Stack;
  let association: Association;
  const dir = () => join(stack.root, 'rec');

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('rec');
    association = await stack.associate('/rec', 's3://rec/', { batchImportMetaDataOnCreate: false });
    await mkdir(join(dir(), 'd'), { recursive: true });
    const names = Array.from({ length: FILES }, (_, i) => `d/f${i}.txt`);
    await inParallel(names, 16, (name) => writeFile(join(dir(), name), `file ${name}`));
    const tasks = await taskHarness(stack);
    const exported = await tasks.run({
      type: 'EXPORT_TO_REPOSITORY',
      associationId: association.associationId,
    });
    expect(exported.status).toMatchObject({ succeededCount: FILES + 1, failedCount: 0 });
    // The first sweep records the directory `d`, implied in S3 by its children.
    const first = await tasks.run({ type: 'RECONCILE', associationId: association.associationId });
    expect(first.status).toMatchObject({ succeededCount: FILES + 1, failedCount: 0 });
  }, 300_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('applies only the paths that changed, and counts the rest as done', async () => {
    await writeFile(join(dir(), 'd/f1.txt'), 'changed on the file system');
    await stack.s3.send(new DeleteObjectCommand({ Bucket: 'rec', Key: 'd/f2.txt' }));
    await stack.s3.send(new PutObjectCommand({ Bucket: 'rec', Key: 'd/new.txt', Body: 'new object' }));
    const acquire = vi.spyOn(stack.adapters.ledger, 'acquire');
    const tasks = await taskHarness(stack);

    const task = await tasks.run({ type: 'RECONCILE', associationId: association.associationId });

    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(task.status).toMatchObject({ failedCount: 0, succeededCount: task.status.totalCount });
    expect(task.status.totalCount).toBe(FILES + 2);
    const leased = new Set(acquire.mock.calls.map(([, path]) => path));
    expect([...leased].sort()).toEqual(['d/f1.txt', 'd/f2.txt', 'd/new.txt']);
    expect(await readObject(stack, 'rec', 'd/f1.txt')).toBe('changed on the file system');
    expect(await readFile(join(dir(), 'd/new.txt'), 'utf8')).toBe('new object');
    acquire.mockRestore();
  }, 300_000);
});
