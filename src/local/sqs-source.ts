import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { PipeRecord, S3Event } from '../core/events.ts';
import { logger } from '../log.ts';
import type { PipeTarget } from './pipe.ts';
import { readQueueMessage } from './queue-messages.ts';
import { S3EndpointError } from './s3-source.ts';

/**
 * `--events-queue SQS_URL`: S3 changes from a real queue, consumed the way
 * an EventBridge Pipe consumes the deployed stack's buffer. Ten messages
 * per receive with long polling; each message's events go to the sync
 * machine as Pipe records; a message is deleted only after every event it
 * carried was committed, so a crash before the delete means a redelivery
 * (which plan and apply find already in sync), never a loss. While a batch
 * runs its messages' visibility is extended; a message that keeps failing
 * is left to the queue's own redrive policy and reaches its dead-letter queue.
 */

export interface QueueSourceOptions {
  client: SQSClient;
  queueUrl: string;
  /** Runs one batch of Pipe records; reports failed ones by record id. */
  target: PipeTarget;
  /** Whether an event concerns an associated bucket (the S3 rule of the deployed stack). */
  accepts(event: S3Event): boolean;
  /** Long-poll wait per receive; 20 s (SQS's most). */
  waitSeconds?: number;
  /** Receives in flight at once. */
  concurrency?: number;
}

export interface QueueStats {
  received: number;
  deleted: number;
  ignored: number;
  failed: number;
}

export interface QueueSource {
  idle(): boolean;
  stats(): QueueStats;
  close(): Promise<void>;
}

/** Checks the queue is there and readable; its visibility timeout paces the extensions. */
async function queueVisibility(client: SQSClient, queueUrl: string): Promise<number> {
  try {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'],
      }),
    );
    if (!Attributes?.RedrivePolicy)
      logger.warn('the events queue has no redrive policy: a message that keeps failing is retried forever', {
        queueUrl,
      });
    return Number(Attributes?.VisibilityTimeout ?? 30);
  } catch (error) {
    const name = (error as Error).name;
    throw new S3EndpointError(
      `--events-queue ${queueUrl} cannot be read (${name}): ${(error as Error).message}`,
      error,
    );
  }
}

export async function startQueueSource(options: QueueSourceOptions): Promise<QueueSource> {
  const { client, queueUrl } = options;
  const visibilitySeconds = await queueVisibility(client, queueUrl);
  const stats: QueueStats = { received: 0, deleted: 0, ignored: 0, failed: 0 };
  let closed = false;
  let inFlight = 0;
  const abort = new AbortController();

  const extend = (messages: Message[]) =>
    client
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({
            Id: String(i),
            ReceiptHandle: m.ReceiptHandle!,
            VisibilityTimeout: visibilitySeconds,
          })),
        }),
      )
      .catch((error) => logger.warn('visibility not extended', { queueUrl, error: error as Error }));

  const remove = async (messages: Message[]) => {
    if (!messages.length) return;
    const result = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }),
    );
    stats.deleted += result.Successful?.length ?? 0;
    for (const failed of result.Failed ?? []) logger.warn('message not deleted', { queueUrl, ...failed });
  };

  /** One received batch: translate, run, delete what committed; the rest reappears after its visibility. */
  const handle = async (messages: Message[]) => {
    const records: PipeRecord[] = [];
    const owner = new Map<string, Message>();
    const done: Message[] = [];
    for (const message of messages) {
      let events: S3Event[];
      try {
        const read = readQueueMessage(message.Body ?? '');
        events = read.kind === 's3' ? read.events.filter((event) => options.accepts(event)) : [];
      } catch (error) {
        stats.failed++;
        logger.warn('unreadable events message left for the dead-letter queue', {
          queueUrl,
          messageId: message.MessageId,
          error: error as Error,
        });
        continue;
      }
      if (!events.length) {
        stats.ignored++;
        done.push(message);
        continue;
      }
      events.forEach((event, i) => {
        const messageId = `${message.MessageId}#${i}`;
        owner.set(messageId, message);
        records.push({
          messageId,
          body: JSON.stringify(event),
          attributes: message.Attributes ?? {},
          eventSource: 'aws:sqs',
        });
      });
    }
    const failed = new Set<Message>();
    if (records.length) {
      const timer = setInterval(
        () => void extend([...new Set(owner.values())]),
        (visibilitySeconds * 1000) / 2,
      );
      try {
        const result = await options.target(records);
        for (const item of result?.batchItemFailures ?? []) {
          const message = owner.get(item.itemIdentifier);
          if (message) failed.add(message);
        }
      } catch (error) {
        logger.error('events batch failed', { queueUrl, error: error as Error });
        for (const message of owner.values()) failed.add(message);
      } finally {
        clearInterval(timer);
      }
    }
    stats.failed += failed.size;
    await remove([...done, ...new Set([...owner.values()].filter((m) => !failed.has(m)))]);
  };

  const loop = async () => {
    while (!closed) {
      let messages: Message[] = [];
      try {
        const received = await client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: options.waitSeconds ?? 20,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (closed) return;
        logger.error('events queue receive failed', { queueUrl, error: error as Error });
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (!messages.length) continue;
      stats.received += messages.length;
      inFlight++;
      try {
        await handle(messages);
      } catch (error) {
        logger.error('events messages not deleted', { queueUrl, error: error as Error });
      } finally {
        inFlight--;
      }
    }
  };
  const loops = Array.from({ length: options.concurrency ?? 4 }, () => loop());

  return {
    idle: () => inFlight === 0,
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      abort.abort();
      await Promise.allSettled(loops);
    },
  };
}
