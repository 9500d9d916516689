import type { Ledger, ObjectStore } from '../adapters/ports.ts';
import type { S3Event } from '../core/events.ts';
import type { Association } from '../core/types.ts';
import { logger } from '../log.ts';
import { startS3EventSource } from './s3-events.ts';
import { type PollStats, startS3Poller } from './s3-poll.ts';
import type { S3Source } from './s3-source.ts';

/**
 * Where local mode hears of S3 changes, chosen once per runtime: the
 * embedded s3rver's own notifications, or for an external store a listing
 * poll (`--poll`). Without either an external store's changes arrive only
 * through reconciles (at start, and RECONCILE tasks).
 */

export interface S3ChangeOptions {
  pollSeconds?: number;
}

export interface S3Changes {
  idle(): boolean;
  stats(): { poll?: PollStats };
  close(): Promise<void>;
}

export function startS3Changes(
  source: S3Source,
  options: S3ChangeOptions,
  deps: {
    store: ObjectStore;
    ledger: Ledger;
    associations(): Promise<Association[]>;
    emit(event: S3Event): void;
  },
): S3Changes {
  if (source.kind === 'embedded') {
    const stop = startS3EventSource(source.server, deps.emit);
    return { idle: () => true, stats: () => ({}), close: async () => stop() };
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
