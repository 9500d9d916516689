import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFunction } from '../../../src/handlers.ts';
import { emptyStatus } from '../../../src/tasks/model.ts';
import type { PreparedBatch } from '../../../src/tasks/steps.ts';
import { taskDeps } from '../../../src/wiring.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { inParallel, MANIFEST_BUCKET, taskHarness } from './harness.ts';

const OBJECTS = Number(process.env.TASKS_IT_IMPORT_OBJECTS ?? 600);

describe('an IMPORT_METADATA_FROM_REPOSITORY task', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('imports every object', async () => {
    await stack.createBucket('imp');
    const keys = Array.from({ length: OBJECTS }, (_, i) => `k${i % 10}/o${i}`);
    await inParallel(keys, 32, (Key) =>
      stack.s3.send(new PutObjectCommand({ Bucket: 'imp', Key, Body: Key })),
    );
    const association = await stack.associate('/imp', 's3://imp/', { batchImportMetaDataOnCreate: false });
    const tasks = await taskHarness(stack);

    const started = Date.now();
    const task = await tasks.run({
      type: 'IMPORT_METADATA_FROM_REPOSITORY',
      associationId: association.associationId,
    });
    console.log(JSON.stringify({ objects: OBJECTS, ms: Date.now() - started }));

    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(task.status).toMatchObject({ totalCount: OBJECTS, succeededCount: OBJECTS, failedCount: 0 });
    const files = (await readdir(join(stack.root, 'imp'), { recursive: true, withFileTypes: true })).filter(
      (entry) => entry.isFile() && entry.name !== '.bucketlink',
    );
    expect(files).toHaveLength(OBJECTS);
  }, 600_000);

  it('refuses keys that are not safe paths in Prepare, before any work, as S3ImportObjectPathNotPosixCompliant', async () => {
    // s3rver stores keys as files, so it cannot hold such keys: feed the Map's batch directly.
    const [association] = await stack.adapters.associations.list();
    const taskId = 'task-0000000000000unsafe';
    await stack.adapters.tasks.create({
      taskId,
      type: 'IMPORT_METADATA_FROM_REPOSITORY',
      associationId: association!.associationId,
      lifecycle: 'EXECUTING',
      paths: [],
      creationTime: new Date().toISOString(),
      status: emptyStatus(new Date()),
    });
    const list = listFunction(taskDeps(stack.config, stack.adapters, MANIFEST_BUCKET));

    const prepared = (await list({
      action: 'prepare',
      Items: [{ Key: '../escape' }, { Key: 'a//b' }, { Key: 'fine/key' }, { Key: 'dir/' }],
      BatchInput: {
        taskId,
        associationId: association!.associationId,
        type: 'IMPORT_METADATA_FROM_REPOSITORY',
        pass: 'objects',
      },
    })) as PreparedBatch;

    expect(prepared.refused).toEqual([
      { path: '../escape', code: 'S3ImportObjectPathNotPosixCompliant' },
      { path: 'a//b', code: 'S3ImportObjectPathNotPosixCompliant' },
    ]);
    expect(prepared.Items.map((item) => [item.path, item.kindHint])).toEqual([
      ['fine/key', 'file'],
      ['dir', 'dir'],
    ]);
  });

  it('narrows a task to --paths, and a second import transfers nothing', async () => {
    const [association] = await stack.adapters.associations.list();
    const tasks = await taskHarness(stack);

    const task = await tasks.run({
      type: 'IMPORT_METADATA_FROM_REPOSITORY',
      associationId: association!.associationId,
      paths: ['/imp/k1/'],
    });

    expect(task.paths).toEqual(['k1']);
    expect(task.status).toMatchObject({
      totalCount: OBJECTS / 10,
      succeededCount: OBJECTS / 10,
      failedCount: 0,
      transferredBytes: 0,
    });
  }, 300_000);

  it('refuses --paths outside the association before the task starts, with BadRequest', async () => {
    const [association] = await stack.adapters.associations.list();
    const tasks = await taskHarness(stack);
    const before = (await stack.adapters.tasks.list()).length;

    for (const paths of [['../etc'], ['/other/x'], ['/imp/k1', 'k2/../../etc']]) {
      await expect(
        tasks.create({
          type: 'IMPORT_METADATA_FROM_REPOSITORY',
          associationId: association!.associationId,
          paths,
        }),
      ).rejects.toMatchObject({
        code: 'BadRequest',
        message: expect.stringMatching(/outside the association at \/imp/),
      });
    }

    expect(await stack.adapters.tasks.list()).toHaveLength(before);
  });
});
