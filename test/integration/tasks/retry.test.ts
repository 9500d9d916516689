import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import { S3ObjectStore } from '../../../src/adapters/s3.ts';
import { logger } from '../../../src/log.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { parseCsv, readObject, taskHarness } from './harness.ts';

/**
 * A path that fails with a retryable error (here `socket hang up` /
 * ECONNRESET on its PutObject, after the SDK's own retries — s3rver cannot
 * produce it, so a client middleware throws it) is tried again inside the
 * task; one that keeps failing fails the task (FSx: any failed file fails
 * it), named in failureDetails, the report and the log.
 */
function flakyStore(stack: Stack, failures: Map<string, number>) {
  const client = createS3Client({ endpoint: stack.config.s3Endpoint });
  const tried = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key ?? '';
      const fails = failures.get(key) ?? 0;
      if (context.commandName === 'PutObjectCommand' && (tried.get(key) ?? 0) < fails) {
        tried.set(key, (tried.get(key) ?? 0) + 1);
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET', $metadata: {} });
      }
      return next(args);
    },
    { step: 'initialize', name: 'injectSocketHangUp' },
  );
  return { store: new S3ObjectStore({ client }), tried };
}

describe('retries inside a task', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('retries a path that hit two connection resets, and the task succeeds with it exported', async () => {
    await stack.createBucket('flaky');
    const association = await stack.associate('/flaky', 's3://flaky/', {
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'flaky');
    await mkdir(join(root, 'd'), { recursive: true });
    for (const name of ['d/one.txt', 'd/two.txt', 'three.txt']) await writeFile(join(root, name), name);
    const { store, tried } = flakyStore(
      stack,
      new Map([
        ['d/one.txt', 2],
        ['three.txt', 2],
      ]),
    );
    const tasks = await taskHarness(stack, { applyStore: store });

    const task = await tasks.run({ type: 'EXPORT_TO_REPOSITORY', associationId: association.associationId });

    expect(tried.get('d/one.txt')).toBe(2);
    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(task.status).toMatchObject({ totalCount: 4, succeededCount: 4, failedCount: 0 });
    expect(await readObject(stack, 'flaky', 'd/one.txt')).toBe('d/one.txt');
    expect(await readObject(stack, 'flaky', 'three.txt')).toBe('three.txt');
  });

  it('fails the task when a path keeps failing, naming it in failureDetails, the report and a WARN line', async () => {
    await stack.createBucket('broken');
    const association = await stack.associate('/broken', 's3://broken/', {
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'broken');
    for (const name of ['ok.txt', 'doomed.txt']) await writeFile(join(root, name), name);
    const { store, tried } = flakyStore(stack, new Map([['doomed.txt', 1_000]]));
    const tasks = await taskHarness(stack, { applyStore: store });
    const warn = vi.spyOn(logger, 'warn');

    const task = await tasks.run({
      type: 'EXPORT_TO_REPOSITORY',
      associationId: association.associationId,
      reportPath: 's3://broken/reports/',
    });

    // Tried again with backoff before it counted (src/sync/batch.ts: RETRIES).
    expect(tried.get('doomed.txt')).toBeGreaterThanOrEqual(4);
    expect(task.lifecycle).toBe('FAILED');
    expect(task.status).toMatchObject({ totalCount: 2, succeededCount: 1, failedCount: 1 });
    expect(task.failureDetails?.message).toMatch(/^1 of 2 paths failed: doomed\.txt \(Transient\)/);
    const csv = parseCsv(await readObject(stack, 'broken', `reports/${task.taskId}/failures.csv`));
    expect(csv.slice(1)).toEqual([['doomed.txt', 'FAILED', 'Transient']]);
    const warned = warn.mock.calls.filter(([message]) => message === 'task path failed');
    expect(warned.map(([, fields]) => fields)).toEqual([
      expect.objectContaining({ taskId: task.taskId, path: 'doomed.txt', code: 'Transient' }),
    ]);
    warn.mockRestore();
  });
});
