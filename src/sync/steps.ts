import type { Readable } from 'node:stream';
import { conflictPath } from '../core/conflict.ts';
import type { SyncDecision } from '../core/decide.ts';
import { SyncError } from '../core/errors.ts';
import { pathToKey } from '../core/mapping.ts';
import type { ApplyResult, FsState, S3Location, S3State, WorkItem } from '../core/types.ts';
import { handOffFor, type LargeTransferRequest, type LargeTransfers } from './large-plan.ts';
import type { Decided } from './observe.ts';
import type { FollowUp } from './queue.ts';

/**
 * Phase 3 of docs/architecture.md §2.1, pure: what one decision does. A plan
 * is the step the executor (src/sync/act.ts) performs, with the states it
 * acts on; how the ledger row is written once the step is done; the result
 * to report; and the follow-up items to queue (src/sync/queue.ts) and the
 * large-file hand-off to start once the lease is released.
 */

export type Step =
  | { kind: 'none' }
  /** Both sides equal: remember them (after settle(), src/sync/act.ts). */
  | { kind: 'record'; fs: FsState; s3: S3State }
  /** `s3` is what the PUT's condition expects at the key (src/sync/transfer.ts `exportCondition`). */
  | { kind: 'export'; fs: FsState; s3: S3State | undefined }
  /** `fs` is what the import may replace; `body`, the object as observe's GET read it. */
  | { kind: 'import'; s3: S3State; fs: FsState | undefined; body?: Readable }
  | { kind: 'deleteObject'; s3: S3State }
  | { kind: 'deleteFile'; fs: FsState }
  /**
   * KEEP_BOTH: keep the file under `copyPath` (created exclusively), import
   * the object over the path, publish the conflict; the copy is exported as
   * a follow-up item.
   */
  | { kind: 'keepBoth'; fs: FsState; s3: S3State; copyPath: string };

/** How the ledger row is written after the step: left, dropped, a tombstone, or both sides as the step left them. */
export type RowWrite = 'leave' | 'drop' | 'tombstone' | 'synced';

export interface PathPlan {
  step: Step;
  write: RowWrite;
  result: Partial<ApplyResult>;
  /** Queued after the path (a conflict copy's export; its path is where `preserve` kept the copy). */
  followUps: FollowUp[];
  /** Started once the lease is released: the transfer leaves for the large-file machine. */
  handOff?: LargeTransferRequest;
}

/** What the plan needs besides the decision: no clock or randomness of its own. */
export interface PlanContext {
  location: S3Location;
  large?: LargeTransfers;
  /** Host name in conflict copies' names. */
  host: string;
  now: () => number;
  /** Four hex digits for a conflict copy's name. */
  random4: () => string;
  /** A new large transfer's id. */
  transferId: () => string;
}

/** A decision without the states its action needs breaks decideAction's contract. */
function missing(decision: SyncDecision, side: string): never {
  throw new SyncError('Internal', `${decision.action} (${decision.reason}) without the ${side} state`);
}

export function planPath(decided: Decided, item: WorkItem, context: PlanContext): PathPlan {
  const { decision, fs, s3, body } = decided;
  const result = { action: decision.action, outcome: 'done' as const, reason: decision.reason };
  const plan = (step: Step, write: RowWrite, fields: Partial<ApplyResult> = result): PathPlan => ({
    step,
    write,
    result: fields,
    followUps: [],
  });
  const handOff = handOffFor(context.large, decision, item, fs, s3, context.transferId);
  if (handOff) return { ...plan({ kind: 'none' }, 'leave', { ...result, outcome: 'handed-off' }), handOff };
  switch (decision.action) {
    case 'none':
    case 'checksum':
      return plan({ kind: 'none' }, 'leave', {
        action: 'none',
        outcome: 'unchanged',
        reason: decision.reason,
      });
    case 'skip':
      return plan({ kind: 'none' }, 'leave', { ...result, outcome: 'skipped', code: decision.code });
    case 'record':
      if (!fs || !s3) return missing(decision, fs ? 'S3' : 'file-system');
      return plan({ kind: 'record', fs, s3 }, 'synced', { ...result, outcome: 'unchanged' });
    case 'export':
      if (!fs) return missing(decision, 'file-system');
      return plan({ kind: 'export', fs, s3 }, 'synced');
    case 'import':
      if (!s3) return missing(decision, 'S3');
      return plan({ kind: 'import', s3, fs, ...(body ? { body } : {}) }, 'synced');
    case 'deleteObject':
      if (!s3) return missing(decision, 'S3');
      return plan({ kind: 'deleteObject', s3 }, 'tombstone');
    case 'deleteFile':
      if (!fs) return missing(decision, 'file-system');
      return plan({ kind: 'deleteFile', fs }, 'tombstone');
    case 'dropLedger':
      return plan({ kind: 'none' }, 'drop');
    case 'keepBoth':
      if (!fs || !s3) return missing(decision, fs ? 'S3' : 'file-system');
      return planKeepBoth(item, fs, s3, context, result);
  }
}

/**
 * The object takes the path; the file-system version is kept beside it under
 * a conflict name and exported as a path of its own (Lambda's own writes are
 * never seen by host agents), its bytes counted with the path's.
 */
function planKeepBoth(
  item: WorkItem,
  fs: FsState,
  s3: S3State,
  context: PlanContext,
  result: Partial<ApplyResult>,
): PathPlan {
  const copyPath = conflictPath(item.path, {
    now: new Date(context.now()),
    origin: context.host,
    random4: context.random4(),
  });
  // A name S3 cannot hold is refused before anything is written.
  pathToKey(copyPath, context.location.prefix, fs.kind);
  return {
    step: { kind: 'keepBoth', fs, s3, copyPath },
    write: 'synced',
    result: { ...result, conflict: true },
    followUps: [
      { item: { associationId: item.associationId, path: copyPath, messageIds: [] }, joins: 'bytes' },
    ],
  };
}
