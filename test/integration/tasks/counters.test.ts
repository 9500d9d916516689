import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskStatus } from '../../../src/tasks/model.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { inParallel, taskHarness } from './harness.ts';

const FILES = 300;
const OBJECTS = 120;

/**
 * `succeeded + failed ≤ total` at every moment of a task. The RECONCILE here
 * exports every file in its file pass, so its object pass meets objects the
 * task's own exports created: they must not be taken off a total that never
 * counted them. Sampled after every counter update and by polling.
 */
describe('task counters', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('never count more done than the total, and end with every item counted once', async () => {
    await stack.createBucket('count');
    const association = await stack.associate('/count', 's3://count/', {
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'count');
    for (let d = 0; d < 6; d++) await mkdir(join(root, `d${d}`), { recursive: true });
    await inParallel(
      Array.from({ length: FILES }, (_, i) => `d${i % 6}/f${i}.txt`),
      32,
      (name) => writeFile(join(root, name), `file ${name}`),
    );
    await inParallel(
      Array.from({ length: OBJECTS }, (_, i) => `s3only/o${i}.txt`),
      32,
      (Key) => stack.s3.send(new PutObjectCommand({ Bucket: 'count', Key, Body: Key })),
    );
    const tasks = await taskHarness(stack);
    const samples: TaskStatus[] = [];
    const store = stack.adapters.tasks;
    const addProgress = store.addProgress.bind(store);
    store.addProgress = async (taskId, progress, failures) => {
      await addProgress(taskId, progress, failures);
      const task = await store.get(taskId);
      if (task) samples.push(task.status);
    };

    const created = await tasks.create({ type: 'RECONCILE', associationId: association.associationId });
    let running = true;
    const poll = (async () => {
      while (running) {
        samples.push((await tasks.describe(created.taskId)).status);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    await tasks.runner.finished(created.taskId);
    running = false;
    await poll;
    store.addProgress = addProgress;
    const task = await tasks.describe(created.taskId);

    expect(task.lifecycle).toBe('SUCCEEDED');
    const over = samples.filter((s) => s.succeededCount + s.failedCount > s.totalCount);
    expect(over, `${over.length} of ${samples.length} samples counted more done than the total`).toEqual([]);
    // Files, their 6 directories, and the objects only S3 held (their directory is implied), each once.
    expect(task.status).toMatchObject({
      totalCount: FILES + 6 + OBJECTS,
      succeededCount: FILES + 6 + OBJECTS,
      failedCount: 0,
    });
    expect(samples.length).toBeGreaterThan(10);
  }, 300_000);
});
