import type { Ledger, ObjectStore } from '../adapters/ports.ts';
import { parseDataRepositoryPath } from '../core/association.ts';
import type { S3Event } from '../core/events.ts';
import { keyToPath, pathToKey } from '../core/mapping.ts';
import type { Association, LedgerEntry } from '../core/types.ts';
import { logger } from '../log.ts';
import {
  diffListing,
  type KnownKey,
  type ListedKey,
  type ListingChange,
  sortByKey,
} from '../sync/listing-diff.ts';
import { toEventBridgeEvent } from './s3-events.ts';

/**
 * `--poll SECONDS`: S3 changes for a store without notifications. Every
 * interval each AVAILABLE association's prefix is listed and merge-joined
 * with its ledger rows (src/sync/listing-diff.ts); only the keys that differ
 * become "Object Created"/"Object Deleted" events, which take the same plan
 * and apply as notifications. A poll that finds nothing costs the listing and
 * one read of the ledger rows: no HEAD and no ledger write per key.
 */

export interface PollerOptions {
  intervalMs: number;
  store: Pick<ObjectStore, 'list'>;
  ledger: Pick<Ledger, 'list'>;
  associations(): Promise<Association[]>;
  emit(event: S3Event): void;
}

export interface PollStats {
  polls: number;
  listed: number;
  changed: number;
}

export interface S3Poller {
  /** Runs one poll of every association now (waits for one in progress first). */
  pollNow(): Promise<void>;
  polling(): boolean;
  stats(): PollStats;
  close(): Promise<void>;
}

/** What the ledger says S3 held: present rows with an object behind them (implied directories have none). */
export function knownKeys(rows: Iterable<LedgerEntry>, prefix: string): KnownKey[] {
  const known: KnownKey[] = [];
  for (const row of rows) {
    if (row.state !== 'present' || !row.s3 || row.s3.etag === '' || row.path === '') continue;
    known.push({ key: pathToKey(row.path, prefix, row.kind), etag: row.s3.etag, size: row.s3.size });
  }
  return sortByKey(known);
}

/** The listing minus the prefix's own marker and keys no path can hold (reconcile reports those). */
export function listedKeys(objects: Iterable<ListedKey>, prefix: string): ListedKey[] {
  const listed: ListedKey[] = [];
  for (const object of objects) {
    if (object.key === prefix) continue;
    try {
      keyToPath(object.key, prefix);
    } catch {
      continue;
    }
    listed.push(object);
  }
  return sortByKey(listed);
}

/** The event a notification would have carried for one change. */
export function changeEvent(bucket: string, change: ListingChange, now = new Date()): S3Event {
  const event = toEventBridgeEvent({
    eventName: change.change === 'deleted' ? 'ObjectRemoved:Delete' : 'ObjectCreated:Put',
    eventTime: change.change === 'deleted' ? now.toISOString() : change.object.lastModified,
    s3: {
      bucket: { name: bucket },
      object:
        change.change === 'deleted'
          ? { key: change.key }
          : { key: change.key, size: change.object.size, eTag: change.object.etag },
    },
  });
  event.detail.reason = 'ListingPoll';
  return event;
}

export function startS3Poller(options: PollerOptions): S3Poller {
  const stats: PollStats = { polls: 0, listed: 0, changed: 0 };
  let running: Promise<void> | undefined;
  let closed = false;

  const pollAssociation = async (association: Association) => {
    const { bucket, prefix } = parseDataRepositoryPath(association.dataRepositoryPath);
    const objects: ListedKey[] = [];
    for await (const page of options.store.list(bucket, prefix)) objects.push(...page);
    const rows: LedgerEntry[] = [];
    for await (const page of options.ledger.list(association.associationId)) rows.push(...page);
    const changes = diffListing(listedKeys(objects, prefix), knownKeys(rows, prefix));
    stats.listed += objects.length;
    stats.changed += changes.length;
    for (const change of changes) options.emit(changeEvent(bucket, change));
  };

  const pollAll = async () => {
    for (const association of await options.associations()) {
      if (association.lifecycle !== 'AVAILABLE') continue;
      // A failing bucket is the health check's to report (MISCONFIGURED); the others still poll.
      await pollAssociation(association).catch((error) =>
        logger.warn('poll failed', { associationId: association.associationId, error: error as Error }),
      );
    }
    stats.polls++;
  };

  const pollNow = async () => {
    while (running) await running;
    running = pollAll().finally(() => {
      running = undefined;
    });
    await running;
  };

  let timer: NodeJS.Timeout;
  const schedule = () => {
    timer = setTimeout(() => {
      void pollNow()
        .catch((error) => logger.error('poll failed', { error: error as Error }))
        .finally(() => {
          if (!closed) schedule();
        });
    }, options.intervalMs);
  };
  schedule();

  return {
    pollNow,
    polling: () => running !== undefined,
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
    },
  };
}
