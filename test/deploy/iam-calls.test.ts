// biome-ignore-all lint/suspicious/noExplicitAny: Lambda results and template JSON are untyped.
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../src/adapters/clients.ts';
import { AGENT_DETAIL_TYPE, AGENT_SCHEMA_VERSION, AGENT_SOURCE } from '../../src/core/events.ts';
import { objectCreated, objectDeleted, sqsRecord } from '../support/events.ts';
import { derivedCalls } from './iam/derived.ts';
import { type Proof, prove } from './iam/prove.ts';
import { type RecordedStack, startRecordedStack } from './iam/stack.ts';
import { loadTemplate, type Template, templatePresent } from './template.ts';

/**
 * Every AWS call each function's code path makes, recorded against the real
 * peers, is allowed by that function's role in the packaged template (proved
 * by an IAM policy simulator, not a hand-written table); so are the calls the
 * state machines, the Pipe and the scheduler make. A statement no recorded
 * call needed is printed as a warning. Runs in `npm run package:check`.
 */

let seq = 0;
/** An agent "File System Change" with the stat the agent reports (ino, size, mtime, ctime, mode). */
async function agentChange(root: string, path: string, op: 'created' | 'modified' | 'deleted') {
  const base = { path: `/data/${path}`, op, seq: seq++ };
  if (op === 'deleted') return base;
  const s = await stat(join(root, 'data', path), { bigint: true });
  return {
    ...base,
    kind: 'file',
    size: Number(s.size),
    mtimeNs: String(s.mtimeNs),
    ctimeNs: String(s.ctimeNs),
    mode: Number(s.mode),
    ino: String(s.ino),
  };
}
const agentEvent = (changes: unknown[]) => ({
  version: '0',
  id: `agent-${seq++}`,
  'detail-type': AGENT_DETAIL_TYPE,
  source: AGENT_SOURCE,
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [],
  detail: { schema: AGENT_SCHEMA_VERSION, host: 'h', changes },
});
const batch = (...events: unknown[]) => events.map((event) => sqsRecord(event));

/** The scenario every function's code path goes through; returns the stack, its calls recorded. */
async function exercise(template: Template): Promise<RecordedStack> {
  const stack = await startRecordedStack(template);
  const { root, bucket } = stack;
  const control = async (request: object) => {
    const out = await stack.invoke('ControlLambdaFunction', request);
    if (out?.error) throw new Error(`control ${JSON.stringify(request)}: ${JSON.stringify(out.error)}`);
    return out;
  };
  const { association } = await control({
    action: 'createAssociation',
    fileSystemPath: '/data',
    dataRepositoryPath: `s3://${bucket}/`,
    batchImportMetaDataOnCreate: false,
  });
  const dir = join(root, 'data');
  await writeFile(join(dir, 'a.txt'), 'a');
  await writeFile(join(dir, 'big.bin'), Buffer.alloc(2 * 1024 * 1024, 1));
  await stack.admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'b.txt', Body: 'b' }));
  // Export a file and a large file (the large-file machine), import an object.
  await stack.run(
    'SyncStateMachine',
    batch(
      agentEvent([
        await agentChange(root, 'a.txt', 'created'),
        await agentChange(root, 'big.bin', 'created'),
      ]),
      objectCreated(bucket, 'b.txt', { size: 1 }),
    ),
  );
  await stack.settle();
  // A rename (paired through the byIno index), deletes both ways (the delete budget).
  await rename(join(dir, 'a.txt'), join(dir, 'c.txt'));
  await rm(join(dir, 'big.bin'));
  await stack.admin.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'b.txt' }));
  await stack.run(
    'SyncStateMachine',
    batch(
      agentEvent([
        await agentChange(root, 'a.txt', 'deleted'),
        await agentChange(root, 'c.txt', 'created'),
        await agentChange(root, 'big.bin', 'deleted'),
      ]),
      objectDeleted(bucket, 'b.txt'),
    ),
  );
  await stack.settle();
  // A repository task through the task machine (walk, precheck, apply, report).
  await writeFile(join(dir, 'd.txt'), 'd');
  await stack.admin.send(new PutObjectCommand({ Bucket: bucket, Key: 'e.txt', Body: 'e' }));
  const { task } = await control({
    action: 'createTask',
    type: 'RECONCILE',
    associationId: association.associationId,
    reportPath: `s3://${bucket}/reports/`,
  });
  await stack.settle();
  await control({ action: 'describeTasks', taskIds: [task.taskId] });
  // The scheduled sweep, its start failing once (the task is marked FAILED).
  stack.failNextStart(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
  await stack.invoke('ScheduleLambdaFunction', { type: 'RECONCILE' });
  await stack.settle();
  // The creation-time import of a second association (a task; Finish settles the association),
  // and the health check: its bucket gone (MISCONFIGURED), then back (AVAILABLE, reconciled at once).
  await stack.admin.send(new CreateBucketCommand({ Bucket: 'data-iam2' }));
  await stack.admin.send(new PutObjectCommand({ Bucket: 'data-iam2', Key: 'pre.txt', Body: 'p' }));
  const second = await control({
    action: 'createAssociation',
    fileSystemPath: '/data2',
    dataRepositoryPath: 's3://data-iam2/',
  });
  await stack.settle();
  await stack.admin.send(new DeleteObjectCommand({ Bucket: 'data-iam2', Key: 'pre.txt' }));
  await stack.admin.send(new DeleteBucketCommand({ Bucket: 'data-iam2' }));
  await stack.invoke('ScheduleLambdaFunction', { type: 'HEALTH' });
  await stack.admin.send(new CreateBucketCommand({ Bucket: 'data-iam2' }));
  await stack.invoke('ScheduleLambdaFunction', { type: 'HEALTH' });
  await stack.settle();
  await control({
    action: 'deleteAssociation',
    associationId: second.association.associationId,
    deleteDataInFileSystem: false,
  });
  // A paused association, resumed; changed; deleted.
  const documents = createDocumentClient({ endpoint: stack.dynamodbEndpoint });
  const table = stack.values.name('AssociationsTable');
  const { Item } = await documents.send(
    new GetCommand({ TableName: table, Key: { associationId: association.associationId } }),
  );
  await documents.send(
    new PutCommand({
      TableName: table,
      Item: { ...Item, lifecycle: 'MISCONFIGURED', failureDetails: { message: 'paused' } },
    }),
  );
  await control({ action: 'resumeAssociation', associationId: association.associationId });
  await control({
    action: 'updateAssociation',
    associationId: association.associationId,
    autoImport: ['NEW'],
  });
  await control({ action: 'describeAssociations' });
  await control({
    action: 'deleteAssociation',
    associationId: association.associationId,
    deleteDataInFileSystem: false,
  });
  return stack;
}

describe.skipIf(!templatePresent)("every recorded call is allowed by its caller's role", () => {
  const template = templatePresent ? loadTemplate() : ({ Resources: {}, Outputs: {} } as Template);
  let stack: RecordedStack;
  let proof: Proof;

  beforeAll(async () => {
    stack = await exercise(template);
    proof = await prove(
      [...stack.recorder.calls, ...derivedCalls(template, stack.values)],
      stack.callers(),
      stack.values,
    );
    for (const line of proof.unused) console.warn(`unused: ${line}`);
  }, 300_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('records the calls of every function and machine', () => {
    const callers = new Set(stack.recorder.calls.map((c) => c.caller));
    for (const id of Object.keys(stack.callers()))
      if (!['SyncPipe', 'ReconcileSchedule', 'HealthSchedule', 'SummarizeLambdaFunction'].includes(id))
        expect([...callers], id).toContain(id);
  });

  it('finds no call a role does not allow', () => {
    expect(proof.denied).toEqual([]);
  });

  it('fails, naming function, call and statement, when one action is taken out of one role', async () => {
    const mutated = structuredClone(template);
    const role =
      mutated.Resources[stack.values.roleId(mutated.Resources.PlanLambdaFunction!.Properties.Role)]!;
    for (const policy of role.Properties.Policies)
      for (const statement of policy.PolicyDocument.Statement)
        statement.Action = ([] as string[])
          .concat(statement.Action)
          .filter((a) => a !== 'dynamodb:BatchGetItem');
    const { TemplateValues } = await import('./iam/template-values.ts');
    const broken = await prove(stack.recorder.calls, stack.callers(), new TemplateValues(mutated));
    expect(broken.denied).toEqual([
      expect.stringMatching(
        /^PlanLambdaFunction: dynamodb BatchGetItem needs dynamodb:BatchGetItem on arn:aws:dynamodb:us-east-1:123456789012:table\/bucketlink-ci-ledger, which PlanIamRoleLambdaExecution does not allow/,
      ),
    ]);
  });
});
