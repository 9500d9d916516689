import type { Ledger } from '../adapters/ports.ts';
import { findAssociationForFsPath, findAssociationForKey } from '../core/association.ts';
import type { SyncEvent } from '../core/events.ts';
import type { Association } from '../core/types.ts';
import type { RepositoryTask } from '../tasks/model.ts';
import { reportLocation } from '../tasks/report.ts';
import { HISTORY_SECONDS } from './activity.ts';
import type { PendingMessages, PipeStats } from './pipe.ts';
import type { RuntimeStatus } from './status.ts';

/**
 * What GET /status serves, assembled from the runtime's parts. Field by
 * field in docs/status.md; the top-level counters are kept as they were so
 * scripts reading them keep working.
 */

/** The delete budget's window (src/sync/delete-budget.ts counts per 10 minutes). */
const DELETE_WINDOW_SECONDS = 600;
/** History per association, in buckets of this many seconds (90 points over 15 minutes). */
const ASSOCIATION_BUCKET_SECONDS = 10;
const RECENT_TASKS = 50;
/** How long a count of an association's ledger rows is reused. */
const PATH_COUNT_TTL_MS = 5_000;

export interface StatusParts {
  status: RuntimeStatus;
  associations: Association[];
  pending: Map<string, PendingMessages>;
  watcherPending: number;
  pipe: PipeStats;
  idle: boolean;
  tasks: RepositoryTask[];
  pathsInSync: PathCounter;
}

const ageSeconds = (sentMs: number | undefined, now: number) =>
  sentMs === undefined ? null : Math.max(0, Math.round((now - sentMs) / 100) / 10);

export function statusView(parts: StatusParts, now = Date.now()) {
  const { status, pending } = parts;
  let queued = 0;
  let oldest: number | undefined;
  for (const entry of pending.values()) {
    queued += entry.count;
    if (oldest === undefined || entry.oldestSentTimestamp < oldest) oldest = entry.oldestSentTimestamp;
  }
  const associations = parts.associations.map((association) => {
    const id = association.associationId;
    const activity = status.activities().get(id);
    const waiting = pending.get(id);
    const series = activity?.history.perSecond(now, ASSOCIATION_BUCKET_SECONDS);
    return {
      associationId: id,
      fileSystemPath: association.fileSystemPath,
      dataRepositoryPath: association.dataRepositoryPath,
      lifecycle: association.lifecycle,
      failureDetails: association.failureDetails ?? null,
      pathsInSync: parts.pathsInSync.count(id),
      pendingChanges: waiting?.count ?? 0,
      oldestPendingAgeSeconds: ageSeconds(waiting?.oldestSentTimestamp, now),
      transfers: activity ? { ...activity.transfers } : null,
      bytes: activity ? { ...activity.bytes } : null,
      conflicts: activity?.conflicts ?? 0,
      failed: activity?.failed ?? 0,
      lastTransferAt: activity?.lastTransferAt ?? null,
      transfersLastMinute: activity?.history.total(now, 60) ?? 0,
      /** Average transfers per second per 10-second bucket over 15 minutes, oldest first; null when idle throughout. */
      transfersPerSecond: series?.some((value) => value > 0) ? series.map(round2) : null,
      deleteBudget: {
        deletesInWindow: activity?.deletes.total(now, DELETE_WINDOW_SECONDS) ?? 0,
        windowSeconds: DELETE_WINDOW_SECONDS,
        paused:
          association.lifecycle === 'MISCONFIGURED' &&
          /delete|empty/i.test(association.failureDetails?.message ?? ''),
      },
    };
  });
  const tasks = [...parts.tasks]
    .sort((a, b) => b.creationTime.localeCompare(a.creationTime))
    .slice(0, RECENT_TASKS)
    .map((task) => {
      const report = reportLocation(task);
      return { ...task, reportUrl: report ? `s3://${report.bucket}/${report.prefix}failures.csv` : null };
    });
  return {
    ...status.snapshot(),
    pipe: parts.pipe,
    watcherPending: parts.watcherPending,
    idle: parts.idle,
    pending: {
      /** Changes seen and not yet synced: waiting in the watcher's quiet window, or queued/in flight. */
      changes: parts.watcherPending + queued,
      queued,
      watcher: parts.watcherPending,
      oldestAgeSeconds: ageSeconds(oldest, now),
    },
    historySeconds: HISTORY_SECONDS,
    associations,
    tasks,
    generatedAt: new Date(now).toISOString(),
  };
}

const round2 = (value: number) => Math.round(value * 100) / 100;

/**
 * Counts each association's ledger rows in the background, at most one
 * count at a time and each reused for 5 s, so serving /status never waits
 * for a scan; null until the first count ends.
 */
export class PathCounter {
  readonly #counts = new Map<string, { paths: number; at: number }>();
  #running = false;

  constructor(private readonly ledger: Pick<Ledger, 'list'>) {}

  count(associationId: string): number | null {
    const known = this.#counts.get(associationId);
    if (!known || Date.now() - known.at > PATH_COUNT_TTL_MS) void this.#refresh(associationId);
    return known?.paths ?? null;
  }

  async #refresh(associationId: string): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      let paths = 0;
      for await (const page of this.ledger.list(associationId))
        paths += page.filter((entry) => entry.state === 'present').length;
      this.#counts.set(associationId, { paths, at: Date.now() });
    } catch {
      // A count that fails is retried on the next request.
    } finally {
      this.#running = false;
    }
  }
}

/** The association an event is about (an agent event's first change decides), for pending counts per association. */
export function associationOf(event: SyncEvent, associations: Association[]): string | undefined {
  try {
    if (event.source === 'aws.s3') {
      const detail = event.detail as { bucket: { name: string }; object: { key: string } };
      return findAssociationForKey(associations, detail.bucket.name, detail.object.key)?.association
        .associationId;
    }
    const change = (event.detail as { changes?: Array<{ path: string }> }).changes?.[0];
    return change
      ? findAssociationForFsPath(associations, change.path)?.association.associationId
      : undefined;
  } catch {
    // Unsafe paths are plan's to refuse; they count as pending without an association.
    return undefined;
  }
}
