import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { logger } from '../../../src/log.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { taskHarness } from './harness.ts';

/**
 * A task that ends FAILED says so in the log, at ERROR, with its id and
 * reason: a creation-time import that fails must not pass silently at INFO.
 */
describe('a failed repository task', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('vanished');
  }, 120_000);
  afterAll(async () => {
    vi.restoreAllMocks();
    await stack?.close();
  });

  it('is logged at ERROR with its task id, association and reason', async () => {
    const association = await stack.associate('/vanished', 's3://vanished/', {
      batchImportMetaDataOnCreate: false,
    });
    await stack.s3.send(new DeleteBucketCommand({ Bucket: 'vanished' }));
    const errors = vi.spyOn(logger, 'error');
    const tasks = await taskHarness(stack);

    const task = await tasks.run({
      type: 'IMPORT_METADATA_FROM_REPOSITORY',
      associationId: association.associationId,
    });

    expect(task.lifecycle).toBe('FAILED');
    const logged = errors.mock.calls.filter(([message]) => message === 'repository task FAILED');
    expect(logged).toHaveLength(1);
    expect(logged[0]![1]).toMatchObject({
      taskId: task.taskId,
      associationId: association.associationId,
      type: 'IMPORT_METADATA_FROM_REPOSITORY',
      reason: task.failureDetails!.message,
    });
    expect(task.failureDetails!.message).toMatch(/vanished|NoSuchBucket|BucketNotFound/);
  });
});
