import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RecordedStack, startRecordedStack } from './iam/stack.ts';
import { loadTemplate, templatePresent } from './template.ts';

/**
 * The association lifecycle as deployed: the control and schedule functions
 * (functions/*.ts, configured as the packaged template configures them)
 * with the repository-task machine's real ASL, against s3rver and dynalite.
 */
describe.skipIf(!templatePresent)('the association lifecycle on AWS', () => {
  let stack: RecordedStack;
  // biome-ignore lint/suspicious/noExplicitAny: the control function's JSON answer.
  const control = async (request: object): Promise<any> => stack.invoke('ControlLambdaFunction', request);
  const describeOne = async (associationId: string) =>
    (await control({ action: 'describeAssociations', associationIds: [associationId] })).associations[0];

  beforeAll(async () => {
    stack = await startRecordedStack(loadTemplate());
  }, 60_000);
  afterAll(async () => {
    await stack?.close();
  });

  it('imports what the bucket holds on creation, CREATING until the import task ends', async () => {
    await stack.admin.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'pre.txt', Body: 'before' }));
    const { association } = await control({
      action: 'createAssociation',
      fileSystemPath: '/data',
      dataRepositoryPath: `s3://${stack.bucket}/`,
    });
    expect(association.lifecycle).toBe('CREATING');
    await stack.settle();
    expect((await describeOne(association.associationId)).lifecycle).toBe('AVAILABLE');
    expect(await readFile(join(stack.root, 'data', 'pre.txt'), 'utf8')).toBe('before');
  }, 120_000);

  it('leaves an association AVAILABLE, naming the paths, when its creation-time import failed only some paths', async () => {
    await stack.admin.send(new CreateBucketCommand({ Bucket: 'data-partly' }));
    await stack.admin.send(new PutObjectCommand({ Bucket: 'data-partly', Key: 'good.txt', Body: 'good' }));
    // An object and a prefix of the same name: the directory wins the name, the object is a failed path.
    await stack.admin.send(new PutObjectCommand({ Bucket: 'data-partly', Key: 'clash', Body: 'object' }));
    await stack.admin.send(
      new PutObjectCommand({ Bucket: 'data-partly', Key: 'clash/inner.txt', Body: 'x' }),
    );
    const { association } = await control({
      action: 'createAssociation',
      fileSystemPath: '/partly',
      dataRepositoryPath: 's3://data-partly/',
    });
    await stack.settle();
    const described = await describeOne(association.associationId);
    expect(described.lifecycle).toBe('AVAILABLE');
    expect(described.failureDetails.message).toMatch(
      /could not sync every path: .*clash \(S3ImportObjectTypeMismatch\)/,
    );
    expect(await readFile(join(stack.root, 'partly', 'good.txt'), 'utf8')).toBe('good');
  }, 120_000);

  it('leaves an association whose creation-time import cannot start FAILED, with the reason', async () => {
    await stack.admin.send(new CreateBucketCommand({ Bucket: 'data-fails' }));
    stack.failNextStart(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const { association } = await control({
      action: 'createAssociation',
      fileSystemPath: '/fails',
      dataRepositoryPath: 's3://data-fails/',
    });
    await stack.settle();
    const described = await describeOne(association.associationId);
    expect(described.lifecycle).toBe('FAILED');
    expect(described.failureDetails.message).toMatch(/creation-time import could not start: Rate exceeded/);
  }, 120_000);

  it('checks health on the schedule: MISCONFIGURED while the bucket is gone, then AVAILABLE and reconciled at once', async () => {
    await stack.admin.send(new CreateBucketCommand({ Bucket: 'data-comes-back' }));
    const { association } = await control({
      action: 'createAssociation',
      fileSystemPath: '/back',
      dataRepositoryPath: 's3://data-comes-back/',
      batchImportMetaDataOnCreate: false,
    });
    await stack.admin.send(new DeleteBucketCommand({ Bucket: 'data-comes-back' }));
    await stack.invoke('ScheduleLambdaFunction', { type: 'HEALTH' });
    const gone = await describeOne(association.associationId);
    expect(gone.lifecycle).toBe('MISCONFIGURED');
    expect(gone.failureDetails.message).toMatch(/bucket-missing/);

    // Written while the bucket was gone: exported by the reconcile that follows the recovery.
    await writeFile(join(stack.root, 'back', 'meanwhile.txt'), 'meanwhile');
    await stack.admin.send(new CreateBucketCommand({ Bucket: 'data-comes-back' }));
    await stack.invoke('ScheduleLambdaFunction', { type: 'HEALTH' });
    expect((await describeOne(association.associationId)).lifecycle).toBe('AVAILABLE');
    await stack.settle();
    const object = await stack.admin.send(
      new GetObjectCommand({ Bucket: 'data-comes-back', Key: 'meanwhile.txt' }),
    );
    expect(await object.Body!.transformToString()).toBe('meanwhile');
    await stack.admin.send(new DeleteObjectCommand({ Bucket: 'data-comes-back', Key: 'meanwhile.txt' }));
    await access(join(stack.root, 'back', 'meanwhile.txt'));
  }, 120_000);
});
