import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createS3Client, createSqsClient } from '../adapters/clients.ts';
import { setUpEvents } from '../local/events-setup.ts';
import { externalClientOptions } from '../local/s3-source.ts';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0)
    throw new InvalidArgumentError(`not a positive integer: ${value}`);
  return parsed;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `bucketlink events setup`: the queue and wiring `bucketlink local --events-queue` reads (src/local/events-setup.ts). */
export function eventsCommand(): Command {
  const events = new Command('events').description('S3 change events for `bucketlink local --events-queue`');
  events
    .command('setup')
    .description(
      'create or update (idempotently) an SQS queue with a dead-letter queue, its policy, and the EventBridge rule or S3 notification that fills it; prints the queue URL',
    )
    .requiredOption('--bucket <name>', 'bucket whose changes to send (repeat for several)', collect)
    .option('--queue <name>', 'queue name (its DLQ is <name>-dlq)', 'bucketlink-events')
    .addOption(
      new Option('--shape <shape>', 'eventbridge: a rule on the default bus; notification: S3 → SQS directly')
        .choices(['eventbridge', 'notification'])
        .default('eventbridge'),
    )
    .option('--max-receive-count <n>', 'receives before a message moves to the DLQ', positiveInteger, 5)
    .option(
      '--visibility-timeout <seconds>',
      "how long a received message stays hidden (longer than a batch's work)",
      positiveInteger,
      330,
    )
    .option(
      '--endpoint-url <url>',
      'one endpoint for S3, SQS and EventBridge (a test peer such as moto); default AWS',
    )
    .option('--region <region>', "default AWS_REGION, then the profile's region")
    .option('--profile <name>', 'shared-config profile for the credentials (as AWS_PROFILE)')
    .action(async (options) => {
      const connection = await externalClientOptions({
        endpoint: options.endpointUrl ?? 'aws',
        region: options.region,
        profile: options.profile,
      });
      const result = await setUpEvents(
        {
          s3: createS3Client(connection),
          sqs: createSqsClient(connection),
          events: new EventBridgeClient({
            region: connection.region,
            ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
            ...(connection.profile ? { profile: connection.profile } : {}),
          }),
        },
        {
          buckets: options.bucket,
          queueName: options.queue,
          shape: options.shape,
          maxReceiveCount: options.maxReceiveCount,
          visibilityTimeoutSeconds: options.visibilityTimeout,
        },
      );
      process.stdout.write(`${JSON.stringify(result)}\n`);
    });
  return events;
}
