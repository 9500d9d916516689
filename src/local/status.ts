import type { SyncConflict } from '../adapters/ports.ts';
import type { ApplyResult } from '../core/types.ts';
import type { PlanOutput } from '../sync/plan.ts';

const KEEP_RECENT = 50;

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
  readonly problems: Problem[] = [];

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
        this.#problem(result);
        break;
    }
  }

  observeConflict(_conflict: SyncConflict): void {
    this.conflicts++;
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
    };
  }

  #countTransfer(result: ApplyResult): void {
    const bytes = result.bytes ?? 0;
    switch (result.action) {
      case 'import':
      case 'keepBoth':
        this.transfers.imports++;
        this.bytes.imported += bytes;
        break;
      case 'export':
        this.transfers.exports++;
        this.bytes.exported += bytes;
        break;
      case 'deleteObject':
        this.transfers.objectDeletes++;
        break;
      case 'deleteFile':
        this.transfers.fileDeletes++;
        break;
      case 'rename':
        this.transfers.copies++;
        break;
    }
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
