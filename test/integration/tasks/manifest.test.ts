import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTask } from '../../../src/tasks/control.ts';
import { startTask } from '../../../src/tasks/start.ts';
import { taskDeps } from '../../../src/wiring.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { MANIFEST_BUCKET, readObject } from './harness.ts';

/**
 * A task's Start step streams the walk manifest into S3 instead of spooling
 * it through the function's /tmp (512 MB on Lambda), so no tree is too large
 * for the temp directory and nothing is left there.
 */
describe('the walk manifest', () => {
  let stack: Stack;
  const savedTmp = process.env.TMPDIR;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket(MANIFEST_BUCKET);
  });
  afterAll(async () => {
    process.env.TMPDIR = savedTmp;
    await stack?.close();
  });

  it('is written with no temp directory at all', async () => {
    await stack.createBucket('manifest');
    const association = await stack.associate('/manifest', 's3://manifest/', {
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'manifest');
    await mkdir(join(root, 'sub'), { recursive: true });
    const names = Array.from({ length: 300 }, (_, i) => (i % 2 ? `sub/f${i}.txt` : `f${i}.txt`));
    for (const name of names) await writeFile(join(root, name), name);
    const deps = taskDeps(stack.config, stack.adapters, MANIFEST_BUCKET);
    const task = await createTask(
      { type: 'EXPORT_TO_REPOSITORY', associationId: association.associationId, paths: [] },
      { tasks: stack.adapters.tasks, associations: stack.adapters.associations, startTask: async () => {} },
    );

    // os.tmpdir() follows TMPDIR: a directory that does not exist makes any spool file fail.
    process.env.TMPDIR = join(stack.root, 'no-such-tmp');
    let started: Awaited<ReturnType<typeof startTask>>;
    try {
      started = await startTask(task.taskId, deps);
    } finally {
      process.env.TMPDIR = savedTmp;
    }

    const lines = (await readObject(stack, MANIFEST_BUCKET, started.manifest!.key)).trim().split('\n');
    const paths = lines.map((line) => (JSON.parse(line) as { path: string }).path);
    for (const name of names) expect(paths).toContain(name);
    expect((await stack.adapters.tasks.get(task.taskId))?.status.totalCount).toBe(lines.length);
  }, 120_000);
});
