import { lstat, readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyFunction, planFunction, summarizeFunction } from '../../../src/handlers.ts';
import { LocalStateMachine } from '../../../src/local/stepfunctions.ts';
import type { PlanOutput } from '../../../src/sync/plan.ts';
import { agentEvent, s3Event, sqsRecord } from '../../support/events.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * Guarantees 4 and 5 at the event edge: keys that do not map to a safe path,
 * events no association covers and events that fail the schema are each
 * refused with a stable code and reported (a malformed message goes back to
 * the Pipe as a batch item failure, so it reaches the DLQ); none writes
 * anything anywhere. Complements test/integration/sync/sync-machine.test.ts,
 * which covers the basic unsafe keys on the S3 side.
 */

/** Names of every entry under `dir`, recursively. */
async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir)) {
    out.push(name);
    if ((await lstat(join(dir, name))).isDirectory())
      out.push(...(await names(join(dir, name))).map((n) => `${name}/${n}`));
  }
  return out.sort();
}

describe('events that must not lead to any write', () => {
  let stack: Stack;
  let machine: LocalStateMachine;
  const side = { fileSystemPath: '/guarded', root: '', bucket: 'guarded', prefix: 'p/' };

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('guarded');
    await stack.associate('/guarded', 's3://guarded/p/');
    machine = new LocalStateMachine({
      definition: JSON.parse(
        await readFile(new URL('../../../statemachines/sync.asl.json', import.meta.url), 'utf8'),
      ),
      handlers: {
        PlanFunctionArn: planFunction(stack.planDeps),
        ApplyFunctionArn: applyFunction(stack.applyDeps()),
        SummarizeFunctionArn: summarizeFunction(),
      },
      retryIntervalMs: 1,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const refusedKeys = [
    ['a `.` segment', 'p/a/./b.txt'],
    ['a `..` segment', 'p/a/../../../etc/passwd'],
    ['an empty segment', 'p//b.txt'],
    ['a trailing `..`', 'p/a/..'],
    ['a NUL', 'p/a\u0000.txt'],
    ['a 256-byte segment', `p/${'x'.repeat(256)}`],
    ['a 1,025-byte key', `p/${Array.from({ length: 5 }, () => 'k'.repeat(200)).join('/')}/${'z'.repeat(20)}`],
  ] as const;

  it.each(refusedKeys)('refuses an S3 key with %s, reports it and writes nothing', async (_what, key) => {
    const before = await names(dirname(stack.root));
    const record = sqsRecord(s3Event('Object Created', 'guarded', key, { etag: '"abc"', size: 5 }));

    const planned = (await planFunction(stack.planDeps)([record])) as PlanOutput;
    const output = await machine.run([record]);

    expect(planned.items).toEqual([]);
    expect(planned.rejected).toEqual([
      expect.objectContaining({
        key,
        code: 'S3ImportObjectPathNotPosixCompliant',
        messageId: record.messageId,
      }),
    ]);
    // Refused, not failed: retrying cannot help, so the message is not sent back.
    expect(output).toEqual({ batchItemFailures: [] });
    expect(await names(dirname(stack.root))).toEqual(before);
  });

  it.each([
    ['a `..` segment', '/guarded/../etc/passwd'],
    ['an empty segment', '/guarded//x'],
    ['a NUL', '/guarded/a\u0000b'],
  ])('refuses an agent path with %s and reports it', async (_what, path) => {
    const event = agentEvent({ ...side, fileSystemPath: '' }, path.slice(1), 'created', 'file');

    const planned = (await planFunction(stack.planDeps)([sqsRecord(event)])) as PlanOutput;

    expect(planned.items).toEqual([]);
    expect(planned.rejected).toEqual([expect.objectContaining({ key: path, code: 'MalformedEvent' })]);
    expect(planned.failures).toEqual([]);
  });

  it('drops events for a bucket or a path no association covers, counting them', async () => {
    const before = await names(dirname(stack.root));
    const records = [
      sqsRecord(s3Event('Object Created', 'someone-elses-bucket', 'p/x.txt', { etag: '"e"' })),
      sqsRecord(s3Event('Object Created', 'guarded', 'outside-prefix/x.txt', { etag: '"e"' })),
      sqsRecord(agentEvent({ ...side, fileSystemPath: '/elsewhere' }, 'x.txt', 'created', 'file')),
      sqsRecord(agentEvent({ ...side, fileSystemPath: '/guardedX' }, 'x.txt', 'created', 'file')),
    ];

    const planned = (await planFunction(stack.planDeps)(records)) as PlanOutput;
    const output = await machine.run(records);

    expect(planned).toMatchObject({ items: [], failures: [], rejected: [] });
    expect(planned.dropped.uncovered).toBe(4);
    expect(output).toEqual({ batchItemFailures: [] });
    expect(await names(dirname(stack.root))).toEqual(before);
  });

  const valid = agentEvent(side, 'ok.txt', 'created', 'file');
  const malformed: Array<[string, unknown]> = [
    [
      'a relative agent path',
      { ...valid, detail: { ...valid.detail, changes: [{ path: 'x', op: 'created', seq: 1 }] } },
    ],
    [
      'an unknown agent op',
      { ...valid, detail: { ...valid.detail, changes: [{ path: '/guarded/x', op: 'exploded', seq: 1 }] } },
    ],
    ['no changes', { ...valid, detail: { ...valid.detail, changes: [] } }],
    ['a future agent schema', { ...valid, detail: { ...valid.detail, schema: 99 } }],
    ['an S3 event with an empty key', s3Event('Object Created', 'guarded', '')],
    [
      'an unknown detail-type',
      { ...s3Event('Object Created', 'guarded', 'p/x'), 'detail-type': 'Object Restore Completed' },
    ],
    ['an unknown source', { ...valid, source: 'evil.agent' }],
    ['a number for a body', 42],
  ];

  it.each(malformed)(
    'fails a message with %s as MalformedEvent, so it reaches the DLQ with its reason',
    async (_what, body) => {
      const before = await names(dirname(stack.root));
      const record = sqsRecord(body);

      const planned = (await planFunction(stack.planDeps)([record])) as PlanOutput;
      const output = await machine.run([record]);

      expect(planned.failures).toEqual([
        { messageId: record.messageId, code: 'MalformedEvent', message: expect.any(String) },
      ]);
      expect(planned.failures[0]!.message.length).toBeGreaterThan(0);
      expect(output).toEqual({ batchItemFailures: [{ itemIdentifier: record.messageId }] });
      expect(await names(dirname(stack.root))).toEqual(before);
    },
  );

  it('fails a whole batch that is not a Pipe batch with MalformedEvent instead of crashing', async () => {
    await expect(planFunction(stack.planDeps)({ Records: 'nope' })).rejects.toMatchObject({
      code: 'MalformedEvent',
    });
  });
});
