import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  GetBucketNotificationConfigurationCommand,
  type GetBucketNotificationConfigurationCommandOutput,
  type NotificationConfiguration,
  PutBucketNotificationConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3BucketNotifications } from '../../src/adapters/notifications.ts';
import { controlFunction } from '../../src/handlers.ts';
import { controlDeps } from '../../src/wiring.ts';
import { type Stack, startStack } from '../support/stack.ts';

/**
 * Turning on S3 → EventBridge delivery when an association is created.
 * s3rver answers GetBucketNotificationConfiguration and
 * PutBucketNotificationConfiguration with NotImplemented (the first test
 * shows it), so those two calls go to aws-sdk-client-mock, which holds the
 * bucket's configuration between them; everything else (the bucket, the
 * tables, the file system) is real.
 */

const EXISTING: NotificationConfiguration = {
  TopicConfigurations: [
    { Id: 'audit', TopicArn: 'arn:aws:sns:us-east-1:123456789012:audit', Events: ['s3:ObjectRemoved:*'] },
  ],
  QueueConfigurations: [
    {
      Id: 'thumbnails',
      QueueArn: 'arn:aws:sqs:us-east-1:123456789012:thumbs',
      Events: ['s3:ObjectCreated:*'],
      Filter: { Key: { FilterRules: [{ Name: 'suffix', Value: '.jpg' }] } },
    },
  ],
  LambdaFunctionConfigurations: [
    {
      Id: 'index',
      LambdaFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:index',
      Events: ['s3:ObjectCreated:Put'],
    },
  ],
};

/** An S3 client whose bucket notification configuration lives in `state`, like S3's. */
function notificationsClient(state: { config: NotificationConfiguration }) {
  const client = new S3Client({ region: 'us-east-1' });
  const mock = mockClient(client);
  mock
    .on(GetBucketNotificationConfigurationCommand)
    .callsFake(async () => structuredClone(state.config) as GetBucketNotificationConfigurationCommandOutput);
  mock.on(PutBucketNotificationConfigurationCommand).callsFake(async (input) => {
    state.config = structuredClone(input.NotificationConfiguration);
    return {};
  });
  return { client, mock };
}

describe('bucket notifications', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('logs');
    await stack.createBucket('other');
  });
  afterAll(async () => stack?.close());

  it('is kept by the embedded S3 endpoint as sent: empty at first (s3rver alone answers NotImplemented)', async () => {
    const empty = await stack.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: 'logs' }));
    expect(empty.EventBridgeConfiguration).toBeUndefined();
    expect(empty.QueueConfigurations ?? []).toEqual([]);
  });

  it('keeps existing queue, topic and lambda configurations when it adds EventBridge', async () => {
    const state = { config: structuredClone(EXISTING) };
    const { client, mock } = notificationsClient(state);

    await new S3BucketNotifications({ client, ruleBuckets: 'logs' }).enable('logs');

    expect(state.config).toEqual({ ...EXISTING, EventBridgeConfiguration: {} });
    const [put] = mock.commandCalls(PutBucketNotificationConfigurationCommand);
    expect(put!.args[0].input).toMatchObject({ Bucket: 'logs', SkipDestinationValidation: true });
  });

  it('writes nothing when EventBridge delivery is already on', async () => {
    const state = { config: { ...structuredClone(EXISTING), EventBridgeConfiguration: {} } };
    const { client, mock } = notificationsClient(state);

    await new S3BucketNotifications({ client, ruleBuckets: 'logs' }).enable('logs');

    expect(mock.commandCalls(PutBucketNotificationConfigurationCommand)).toHaveLength(0);
  });

  it('reports a refused read as BucketNotificationsNotEnabled, naming the bucket', async () => {
    const client = new S3Client({ region: 'us-east-1' });
    mockClient(client)
      .on(GetBucketNotificationConfigurationCommand)
      .rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied' }));

    await expect(
      new S3BucketNotifications({ client, ruleBuckets: 'logs' }).enable('logs'),
    ).rejects.toMatchObject({
      code: 'BucketNotificationsNotEnabled',
      message: expect.stringContaining('bucket logs'),
    });
  });

  it.each([
    ['logs', true],
    ['logs-archive', false],
    ['data-2024', true],
    ['data', false],
    ['other', false],
  ])('decides with the rule matcher whether %s is covered by buckets=logs,data-*', (bucket, covered) => {
    const notifications = new S3BucketNotifications({ client: new S3Client({}), ruleBuckets: 'logs,data-*' });
    expect(notifications.coveredByRule(bucket)).toBe(covered);
  });

  it('turns notifications on when the control function creates an association', async () => {
    const state = { config: structuredClone(EXISTING) };
    const { client } = notificationsClient(state);
    const control = controlFunction({
      ...controlDeps(stack.config, stack.adapters),
      notifications: new S3BucketNotifications({ client, ruleBuckets: 'logs' }),
    });

    const created = (await control({
      action: 'createAssociation',
      fileSystemPath: '/logs',
      dataRepositoryPath: 's3://logs/',
    })) as { association: { associationId: string } };

    expect(state.config.EventBridgeConfiguration).toEqual({});
    expect(state.config.QueueConfigurations).toEqual(EXISTING.QueueConfigurations);
    expect(await readFile(join(stack.root, 'logs', '.bucketlink'), 'utf8')).toContain(
      created.association.associationId,
    );
  });

  it('refuses a bucket the deployed rule does not cover, naming the parameter, and changes nothing', async () => {
    // Built by the real wiring, from the environment serverless.yml gives the control function.
    const deps = controlDeps(stack.config, stack.adapters, { BUCKETLINK_RULE_BUCKETS: 'logs,data-*' });
    const before = await stack.adapters.associations.list();

    await expect(
      controlFunction(deps)({
        action: 'createAssociation',
        fileSystemPath: '/other',
        dataRepositoryPath: 's3://other/',
      }),
    ).rejects.toMatchObject({
      code: 'BucketNotCoveredByRule',
      message: expect.stringMatching(
        /bucket other .*`buckets` is "logs,data-\*".*--param="buckets=logs,data-\*,other"/,
      ),
    });
    expect(await stack.adapters.associations.list()).toEqual(before);
  });

  it('leaves local mode alone: without the rule parameter there is no notifications step', () => {
    expect(controlDeps(stack.config, stack.adapters, {}).notifications).toBeUndefined();
  });
});
