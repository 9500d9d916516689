import { createSqsClient } from '../adapters/clients.ts';
import type { Ledger, ObjectStore } from '../adapters/ports.ts';
import type { S3Event } from '../core/events.ts';
import type { Association } from '../core/types.ts';
import { logger } from '../log.ts';
import type { PipeTarget } from './pipe.ts';
import { startS3EventSource } from './s3-events.ts';
import { type PollStats, startS3Poller } from './s3-poll.ts';
import { S3EndpointError, type S3Source } from './s3-source.ts';
import { type QueueStats, startQueueSource } from './sqs-source.ts';

/**
 * Where local mode hears of S3 changes, chosen once per runtime: the
 * embedded s3rver's own notifications, or for an external store an SQS
 * queue (`--events-queue`) or a listing poll (`--poll`). Without either an external store's changes arrive only
 * through reconciles (at start, and RECONCILE tasks).
 */

export interface S3ChangeOptions {
  pollSeconds?: number;
  eventsQueue?: string;
  /** Long-poll wait of each receive (SQS's most, 20 s, unless told). */
  queueWaitSeconds?: number;
}

export interface S3Changes {
  idle(): boolean;
  stats(): { poll?: PollStats; queue?: QueueStats };
  close(): Promise<void>;
}

/**
 * The SQS client for a queue URL: AWS's own endpoint (its region from the
 * host name) for an amazonaws.com URL, else the URL's origin; credentials
 * as for the store.
 */
export function queueClientOptions(queueUrl: string, source: S3Source) {
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch {
    throw new S3EndpointError(`--events-queue ${queueUrl} is not a queue URL`);
  }
  const aws = /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname);
  // An AWS queue URL names its region and takes AWS's endpoint; any other is its own endpoint.
  const { endpoint: _storeEndpoint, ...shared } = source.clientOptions;
  return aws ? { ...shared, region: aws[1] } : { ...shared, endpoint: url.origin };
}

export async function startS3Changes(
  source: S3Source,
  options: S3ChangeOptions,
  deps: {
    store: ObjectStore;
    ledger: Ledger;
    associations(): Promise<Association[]>;
    emit(event: S3Event): void;
    /** The sync machine, as the Pipe invokes it (queue messages are run directly, then deleted). */
    target: PipeTarget;
    accepts(event: S3Event): boolean;
  },
): Promise<S3Changes> {
  if (source.kind === 'embedded') {
    const stop = startS3EventSource(source.server, deps.emit);
    return { idle: () => true, stats: () => ({}), close: async () => stop() };
  }
  if (options.eventsQueue !== undefined) {
    const queue = await startQueueSource({
      client: createSqsClient(queueClientOptions(options.eventsQueue, source)),
      queueUrl: options.eventsQueue,
      target: deps.target,
      accepts: deps.accepts,
      waitSeconds: options.queueWaitSeconds,
    });
    return { idle: () => queue.idle(), stats: () => ({ queue: queue.stats() }), close: () => queue.close() };
  }
  if (options.pollSeconds !== undefined) {
    const poller = startS3Poller({ ...deps, intervalMs: options.pollSeconds * 1000 });
    return {
      idle: () => !poller.polling(),
      stats: () => ({ poll: poller.stats() }),
      close: () => poller.close(),
    };
  }
  logger.warn(
    'no S3 change source: objects changed in the bucket sync only at start and by RECONCILE tasks',
    {
      endpoint: source.endpoint,
    },
  );
  return { idle: () => true, stats: () => ({}), close: async () => undefined };
}
