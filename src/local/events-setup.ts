import { type EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';

/**
 * `bucketlink events setup`: the queue `bucketlink local --events-queue`
 * reads, and the wiring that fills it, created or brought up to date
 * idempotently (every step a create-or-overwrite of bucketlink's own
 * items; a bucket's other notifications are kept):
 * - a dead-letter queue `<queue>-dlq` and the queue, with a redrive policy
 *   (a message failing `maxReceiveCount` times moves to the DLQ) and a
 *   visibility timeout longer than a batch's work;
 * - `eventbridge` (default): EventBridge notifications on for the bucket, a
 *   rule on the default bus for its Object Created/Deleted events, the queue
 *   as its target, and a queue policy letting that rule send;
 * - `notification`: a classic S3 event notification (id `bucketlink`) for
 *   s3:ObjectCreated:* and s3:ObjectRemoved:* straight to the queue, and a
 *   queue policy letting the bucket send.
 */

export interface EventsSetupOptions {
  buckets: string[];
  queueName: string;
  shape: 'eventbridge' | 'notification';
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
}

export interface EventsSetupClients {
  s3: S3Client;
  sqs: SQSClient;
  events: EventBridgeClient;
}

export interface EventsSetupResult {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  ruleArn?: string;
}

const NOTIFICATION_ID = 'bucketlink';

async function ensureQueue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (Object.keys(attributes).length)
    await sqs.send(new SetQueueAttributesCommand({ QueueUrl, Attributes: attributes }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl!, arn: Attributes!.QueueArn! };
}

/** The rule's name for a queue: one rule per queue, its pattern naming every bucket. */
export function ruleName(queueName: string): string {
  return `bucketlink-${queueName}`.slice(0, 64);
}

export async function setUpEvents(
  clients: EventsSetupClients,
  options: EventsSetupOptions,
): Promise<EventsSetupResult> {
  const dlq = await ensureQueue(clients.sqs, `${options.queueName}-dlq`, {
    MessageRetentionPeriod: '1209600',
  });
  const queue = await ensureQueue(clients.sqs, options.queueName, {
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 330),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: String(options.maxReceiveCount ?? 5),
    }),
  });
  const bucketArns = options.buckets.map((bucket) => `arn:aws:s3:::${bucket}`);
  let ruleArn: string | undefined;
  let principal: { Service: string };
  let source: string[];
  if (options.shape === 'eventbridge') {
    ({ RuleArn: ruleArn } = await clients.events.send(
      new PutRuleCommand({
        Name: ruleName(options.queueName),
        EventPattern: JSON.stringify({
          source: ['aws.s3'],
          'detail-type': ['Object Created', 'Object Deleted'],
          detail: { bucket: { name: options.buckets } },
        }),
        State: 'ENABLED',
        Description: 'S3 changes for bucketlink local --events-queue',
      }),
    ));
    await clients.events.send(
      new PutTargetsCommand({
        Rule: ruleName(options.queueName),
        Targets: [{ Id: 'queue', Arn: queue.arn }],
      }),
    );
    principal = { Service: 'events.amazonaws.com' };
    source = [ruleArn!];
  } else {
    principal = { Service: 's3.amazonaws.com' };
    source = bucketArns;
  }
  await allowSender(clients.sqs, queue, `bucketlink-${options.shape}`, principal, source);
  for (const bucket of options.buckets) await wireBucket(clients.s3, bucket, options.shape, queue.arn);
  return {
    queueUrl: queue.url,
    queueArn: queue.arn,
    deadLetterQueueUrl: dlq.url,
    ...(ruleArn ? { ruleArn } : {}),
  };
}

/** Adds (or replaces) one statement of the queue's policy, keeping the others. */
async function allowSender(
  sqs: SQSClient,
  queue: { url: string; arn: string },
  sid: string,
  principal: { Service: string },
  sourceArns: string[],
) {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['Policy'] }),
  );
  const policy = Attributes?.Policy
    ? (JSON.parse(Attributes.Policy) as { Version: string; Statement: Array<{ Sid?: string }> })
    : { Version: '2012-10-17', Statement: [] };
  policy.Statement = [
    ...policy.Statement.filter((statement) => statement.Sid !== sid),
    {
      Sid: sid,
      Effect: 'Allow',
      Principal: principal,
      Action: 'sqs:SendMessage',
      Resource: queue.arn,
      Condition: { ArnEquals: { 'aws:SourceArn': sourceArns } },
    } as { Sid: string },
  ];
  await sqs.send(
    new SetQueueAttributesCommand({ QueueUrl: queue.url, Attributes: { Policy: JSON.stringify(policy) } }),
  );
}

/** Turns the bucket's notifications toward bucketlink, keeping every other configuration it has. */
async function wireBucket(
  s3: S3Client,
  bucket: string,
  shape: EventsSetupOptions['shape'],
  queueArn: string,
) {
  const { $metadata: _, ...current } = await s3.send(
    new GetBucketNotificationConfigurationCommand({ Bucket: bucket }),
  );
  const others = (current.QueueConfigurations ?? []).filter((q) => q.Id !== NOTIFICATION_ID);
  const config =
    shape === 'eventbridge'
      ? { ...current, QueueConfigurations: others, EventBridgeConfiguration: {} }
      : {
          ...current,
          QueueConfigurations: [
            ...others,
            {
              Id: NOTIFICATION_ID,
              QueueArn: queueArn,
              Events: ['s3:ObjectCreated:*' as const, 's3:ObjectRemoved:*' as const],
            },
          ],
        };
  await s3.send(
    new PutBucketNotificationConfigurationCommand({ Bucket: bucket, NotificationConfiguration: config }),
  );
}
