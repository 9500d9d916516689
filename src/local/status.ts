import type { SyncConflict } from '../adapters/ports.ts';
import type { ApplyResult } from '../core/types.ts';
import type { PlanOutput } from '../sync/plan.ts';
import { AssociationActivity, TransferHistory } from './activity.ts';

const KEEP_RECENT = 50;

export interface RecentConflict extends SyncConflict {
  at: string;
}

export interface Problem {
  associationId?: string;
  path?: string;
  key?: string;
  code: string;
  message?: string;
  at: string;
}

/**
 * Counters of the local runtime, served at GET /status. Tests read them to
 * prove a quiet system transfers nothing ("no loops") instead of sleeping.
 */
export class RuntimeStatus {
  /** fs: agent events routed to the pipe; agentEntries: entries a separate agent posted to POST /events. */
  readonly events = { s3: 0, fs: 0, agentEntries: 0 };
  /** copies: renames applied as a server-side CopyObject (no re-upload). */
  readonly transfers = { imports: 0, exports: 0, objectDeletes: 0, fileDeletes: 0, copies: 0 };
  readonly bytes = { imported: 0, exported: 0 };
  conflicts = 0;
  echoesDropped = 0;
  unchanged = 0;
  recorded = 0;
  deferred = 0;
  skipped = 0;
  failed = 0;
  rejected = 0;
  deadLettered = 0;
  reconciling = 0;
  /** The last 50 failures, rejections and dead letters, oldest first. */
  readonly problems: Problem[] = [];
  /** The last 50 conflicts, oldest first. */
  readonly recentConflicts: RecentConflict[] = [];
  /** Every transfer, per second, for the last 15 minutes. */
  readonly history = new TransferHistory();
  readonly #activity = new Map<string, AssociationActivity>();

  /** One association's counters (created on first use). */
  activity(associationId: string): AssociationActivity {
    let activity = this.#activity.get(associationId);
    if (!activity) {
      activity = new AssociationActivity();
      this.#activity.set(associationId, activity);
    }
    return activity;
  }

  observePlan(output: PlanOutput): void {
    this.echoesDropped += output.dropped.echoes;
    this.rejected += output.rejected.length;
    for (const r of output.rejected) this.#problem({ key: r.key, code: r.code, message: r.message });
    for (const f of output.failures) this.#problem({ code: f.code, message: f.message });
  }

  observeResult(result: ApplyResult): void {
    switch (result.outcome) {
      case 'done':
        this.#countTransfer(result);
        break;
      case 'unchanged':
        if (result.action === 'record') this.recorded++;
        else this.unchanged++;
        break;
      case 'deferred':
        this.deferred++;
        break;
      case 'skipped':
        this.skipped++;
        if (result.code) this.#problem(result);
        break;
      case 'failed':
        this.failed++;
        if (result.associationId) this.activity(result.associationId).failed++;
        this.#problem(result);
        break;
    }
  }

  observeConflict(conflict: SyncConflict): void {
    this.conflicts++;
    this.activity(conflict.associationId).conflicts++;
    this.recentConflicts.push({ ...conflict, at: new Date().toISOString() });
    if (this.recentConflicts.length > KEEP_RECENT) this.recentConflicts.shift();
  }

  observeDeadLetter(code: string, message: string): void {
    this.deadLettered++;
    this.#problem({ code, message });
  }

  /** Everything that moved data, in total. */
  totalTransfers(): number {
    const t = this.transfers;
    return t.imports + t.exports + t.objectDeletes + t.fileDeletes + t.copies;
  }

  snapshot() {
    return {
      events: this.events,
      transfers: { ...this.transfers, total: this.totalTransfers() },
      bytes: this.bytes,
      conflicts: this.conflicts,
      echoesDropped: this.echoesDropped,
      unchanged: this.unchanged,
      recorded: this.recorded,
      deferred: this.deferred,
      skipped: this.skipped,
      failed: this.failed,
      rejected: this.rejected,
      deadLettered: this.deadLettered,
      reconciling: this.reconciling,
      problems: this.problems,
      recentConflicts: this.recentConflicts,
      transfersPerSecond: this.history.perSecond(),
    };
  }

  #countTransfer(result: ApplyResult): void {
    const now = Date.now();
    this.history.record(now);
    countTransfer(this, result);
    if (!result.associationId) return;
    const activity = this.activity(result.associationId);
    countTransfer(activity, result);
    activity.history.record(now);
    if (result.action === 'deleteObject' || result.action === 'deleteFile') activity.deletes.record(now);
    activity.lastTransferAt = new Date(now).toISOString();
  }

  /** Snapshot-able activity of every association seen so far. */
  activities(): ReadonlyMap<string, AssociationActivity> {
    return this.#activity;
  }

  #problem(problem: Omit<Problem, 'at' | 'code'> & { code?: string }): void {
    this.problems.push({
      associationId: problem.associationId,
      path: problem.path,
      key: problem.key,
      code: problem.code ?? 'Unknown',
      message: problem.message,
      at: new Date().toISOString(),
    });
    if (this.problems.length > KEEP_RECENT) this.problems.shift();
  }
}

function countTransfer(
  counters: Pick<AssociationActivity, 'transfers' | 'bytes'>,
  result: Pick<ApplyResult, 'action' | 'bytes'>,
): void {
  const bytes = result.bytes ?? 0;
  switch (result.action) {
    case 'import':
    case 'keepBoth':
      counters.transfers.imports++;
      counters.bytes.imported += bytes;
      break;
    case 'export':
      counters.transfers.exports++;
      counters.bytes.exported += bytes;
      break;
    case 'deleteObject':
      counters.transfers.objectDeletes++;
      break;
    case 'deleteFile':
      counters.transfers.fileDeletes++;
      break;
    case 'rename':
      counters.transfers.copies++;
      break;
  }
}
