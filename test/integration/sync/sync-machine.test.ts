import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Association } from '../../../src/core/types.ts';
import { applyFunction, planFunction, summarizeFunction } from '../../../src/handlers.ts';
import { LocalStateMachine } from '../../../src/local/stepfunctions.ts';
import { objectCreated as created, sqsRecord } from '../../support/events.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/** As sync-machine's batches carried it: a 4-byte PutObject with an ETag. */
const objectCreated = (bucket: string, key: string) =>
  created(bucket, key, { size: 4, etag: 'b1946ac92492d2347c6235b4d2611184' });

const definition = JSON.parse(
  await readFile(new URL('../../../statemachines/sync.asl.json', import.meta.url), 'utf8'),
);

describe('the sync state machine (statemachines/sync.asl.json) over the real handlers', () => {
  let stack: Stack;
  let association: Association;
  let machine: LocalStateMachine;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('inbox');
    await stack.createBucket('unrelated');
    association = await stack.associate('/inbox', 's3://inbox/in/');
    machine = new LocalStateMachine({
      definition,
      handlers: {
        PlanFunctionArn: planFunction(stack.planDeps),
        ApplyFunctionArn: applyFunction(stack.applyDeps(), { retryIntervalMs: 1 }),
        SummarizeFunctionArn: summarizeFunction(),
      },
      retryIntervalMs: 1,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('imports what a batch names and reports only malformed messages as batch item failures', async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: 'in/ok.txt', Body: 'okay' }));
    const good = sqsRecord(objectCreated('inbox', 'in/ok.txt'));
    const duplicate = sqsRecord(good.body);
    const notJson = sqsRecord('{not json');
    const wrongShape = sqsRecord(
      JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Created', detail: {} }),
    );
    const uncovered = sqsRecord(objectCreated('unrelated', 'in/x.txt'));

    const output = await machine.run([good, duplicate, notJson, wrongShape, uncovered]);

    expect(output).toEqual({
      batchItemFailures: expect.arrayContaining([
        { itemIdentifier: notJson.messageId },
        { itemIdentifier: wrongShape.messageId },
      ]),
    });
    expect((output as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(2);
    expect(await readFile(join(stack.root, 'inbox/ok.txt'), 'utf8')).toBe('okay');
  });

  it.each([
    '../escape.txt',
    'a/../../x.txt',
    './dot.txt',
    'a//b.txt',
    '/absolute.txt',
    'nul\u0000byte.txt',
    `${'s'.repeat(256)}.txt`,
  ])(
    'refuses the key %j, reports it, retries nothing and writes nothing outside the root',
    async (suffix) => {
      const before = await readdir(dirname(stack.root));
      const plan = planFunction(stack.planDeps);
      const record = sqsRecord(objectCreated('inbox', `in/${suffix}`));

      const planned = (await plan([record])) as {
        items: unknown[];
        rejected: Array<{ code: string; key: string }>;
      };
      const output = await machine.run([record]);

      expect(planned.items).toEqual([]);
      expect(planned.rejected).toEqual([
        expect.objectContaining({ code: 'S3ImportObjectPathNotPosixCompliant', key: `in/${suffix}` }),
      ]);
      expect(output).toEqual({ batchItemFailures: [] });
      expect(await readdir(dirname(stack.root))).toEqual(before);
      await expect(stat(join(stack.root, 'escape.txt'))).rejects.toThrow();
    },
  );

  it('records a failed item with its error code and fails only its message', async () => {
    // An association whose bucket was deleted after creation: HEAD fails, nothing is lost.
    const ghost = await stack.associate('/ghost', 's3://unrelated/ghost/');
    await stack.adapters.associations.put({ ...ghost, dataRepositoryPath: 's3://deleted-bucket/ghost/' });
    const record = sqsRecord(objectCreated('deleted-bucket', 'ghost/file.txt'));
    const ok = sqsRecord(objectCreated('inbox', 'in/ok.txt'));

    const output = await machine.run([record, ok]);

    expect(output).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
  });

  it('applies a whole batch in one apply invocation, and invokes none for a batch with nothing to apply', async () => {
    const payloads: unknown[] = [];
    const apply = applyFunction(stack.applyDeps(), { retryIntervalMs: 1 });
    const counting = new LocalStateMachine({
      definition,
      handlers: {
        PlanFunctionArn: planFunction(stack.planDeps),
        ApplyFunctionArn: async (payload) => {
          payloads.push(payload);
          return apply(payload);
        },
        SummarizeFunctionArn: summarizeFunction(),
      },
      retryIntervalMs: 1,
    });
    const keys = ['in/batch/a.txt', 'in/batch/b.txt', 'in/batch/c.txt'];
    for (const key of keys)
      await stack.s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: key, Body: 'okay' }));

    expect(await counting.run(keys.map((key) => sqsRecord(objectCreated('inbox', key))))).toEqual({
      batchItemFailures: [],
    });
    expect(payloads).toHaveLength(1);
    expect((payloads[0] as { Items: Array<{ path: string }> }).Items.map((item) => item.path).sort()).toEqual(
      ['batch/a.txt', 'batch/b.txt', 'batch/c.txt'],
    );
    for (const key of keys)
      expect(await readFile(join(stack.root, 'inbox', key.slice(3)), 'utf8')).toBe('okay');

    expect(await counting.run([sqsRecord(objectCreated('unrelated', 'in/x.txt'))])).toEqual({
      batchItemFailures: [],
    });
    expect(payloads).toHaveLength(1);
  });

  it('fails every message of the batch, with the reason, when the apply invocation itself fails for good', async () => {
    const failing = new LocalStateMachine({
      definition,
      handlers: {
        PlanFunctionArn: planFunction(stack.planDeps),
        ApplyFunctionArn: async () => {
          throw Object.assign(new Error('the function crashed'), { name: 'Runtime.ExitError' });
        },
        SummarizeFunctionArn: summarizeFunction(),
      },
      retryIntervalMs: 1,
    });
    const records = ['in/f1.txt', 'in/f2.txt'].map((key) => sqsRecord(objectCreated('inbox', key)));

    const output = (await failing.run(records)) as { batchItemFailures: Array<{ itemIdentifier: string }> };

    expect(output.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual(
      records.map((record) => record.messageId).sort(),
    );
  });

  it('treats association ids as opaque: an item for an unknown association fails with a clear code', async () => {
    const apply = applyFunction(stack.applyDeps());
    await expect(
      apply({ associationId: 'dra-00000000000000000', path: 'x', messageIds: [] }),
    ).rejects.toMatchObject({
      name: 'DataRepositoryAssociationNotFound',
    });
    expect(association.associationId).toMatch(/^dra-/);
  });
});
