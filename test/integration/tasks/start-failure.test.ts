import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTask, describeTasks } from '../../../src/tasks/control.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * A task whose execution cannot be started (StartExecution throttled, a
 * missing state machine) ends FAILED with the reason, not PENDING forever.
 * The failing starter is injected: DynamoDB here is real.
 */
describe('a task that cannot start', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('nostart');
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('is FAILED with the start error, and the error reaches the caller', async () => {
    const association = await stack.associate('/nostart', 's3://nostart/', {
      batchImportMetaDataOnCreate: false,
    });
    const control = {
      tasks: stack.adapters.tasks,
      associations: stack.adapters.associations,
      startTask: async () => {
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      },
    };
    await expect(
      createTask({ type: 'RECONCILE', associationId: association.associationId, paths: [] }, control),
    ).rejects.toThrow('Rate exceeded');
    const tasks = await describeTasks({ associationId: association.associationId }, control);
    expect(tasks).toHaveLength(1);
    expect(tasks[0]).toMatchObject({
      lifecycle: 'FAILED',
      failureDetails: { message: expect.stringContaining('Rate exceeded') },
    });
    expect(tasks[0]!.endTime).toBeDefined();
  });
});
