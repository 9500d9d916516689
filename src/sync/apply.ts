import { randomBytes, randomUUID } from 'node:crypto';
import type { Lease, Ledger, LedgerWrite } from '../adapters/ports.ts';
import { AssociationNotFoundError, errorCode, PreconditionLostError, SyncError } from '../core/errors.ts';
import { pathToKey } from '../core/mapping.ts';
import { withDefaults } from '../core/options.ts';
import type { ApplyResult, Association, LedgerEntry, WorkItem } from '../core/types.ts';
import { type Executed, execute } from './act.ts';
import { type ApplyDeps, isActive, sideOf } from './deps.ts';
import type { LargeTransferRequest } from './large-plan.ts';
import { observeAndDecide } from './observe.ts';
import { type Applied, drain } from './queue.ts';
import { applyRename } from './rename.ts';
import { type PlanContext, planPath } from './steps.ts';
import type { Side } from './transfer.ts';

/**
 * The engine for one path (docs/architecture.md §2.1): lease → observe →
 * decide → plan → execute → commit, in that order and never back. Imported
 * by the handlers only (test/unit/sync/imports.test.ts).
 */

/** How often a path is re-planned because another worker asked for it while we held it. */
const MAX_RERUNS = 5;
/** Errors that say a path cannot be synced at all: retrying cannot help. */
const REFUSALS = new Set([
  'S3ExportPathSizeTooLong',
  'S3ImportObjectPathNotPosixCompliant',
  'S3ImportObjectTypeMismatch',
  'SymlinkInPath',
  'UnsupportedFileType',
  'InvalidPath',
  'DeleteBudgetExceeded',
]);
/** Observe → execute rounds within one lease (a kind change is delete, then create). */
const MAX_STEPS = 3;

interface Synced extends Executed {
  handOff?: LargeTransferRequest;
}

/** Syncs a path and every follow-up item it leaves (src/sync/queue.ts); throws what a path threw. */
export function applyItem(item: WorkItem, deps: ApplyDeps): Promise<ApplyResult> {
  return drain(item, (next) => applyPath(next, deps));
}

/**
 * Syncs one path: takes its lease, runs the phases and commits the ledger row
 * conditionally, then starts a large-file hand-off. A worker that cannot get
 * the lease leaves the path to the holder, who re-plans once more before
 * releasing. Follow-up items are returned, not run.
 */
export async function applyPath(item: WorkItem, deps: ApplyDeps): Promise<Applied> {
  const association = await deps.getAssociation(item.associationId);
  if (!association) throw new AssociationNotFoundError(item.associationId);
  const result = (fields: Partial<ApplyResult>): ApplyResult =>
    withDefaults<ApplyResult, Partial<ApplyResult>>(
      {
        associationId: item.associationId,
        path: item.path,
        action: 'none',
        outcome: 'unchanged',
        messageIds: item.messageIds,
      },
      fields,
    );
  const only = (fields: Partial<ApplyResult>): Applied => ({ result: result(fields), followUps: [] });
  if (!isActive(association)) {
    return only({
      action: 'skip',
      outcome: 'skipped',
      reason: `association-${association.lifecycle.toLowerCase()}`,
    });
  }
  const side = sideOf(association, deps);
  // A path with no valid key is refused before anything asks S3 or the ledger
  // about it (the ledger's sort key has S3's 1024-byte limit too).
  try {
    pathToKey(item.path, side.location.prefix, item.kindHint ?? 'file');
  } catch (error) {
    return only({
      action: 'skip',
      outcome: 'skipped',
      code: errorCode(error),
      message: (error as Error).message,
    });
  }
  // A file renamed on the file system moves in S3 by a server-side copy.
  if (item.renamedFrom) return applyRename({ ...item, renamedFrom: item.renamedFrom }, side, deps);
  const ttl = deps.leaseTtlMs ?? 5 * 60_000;
  let last: Applied = only({});
  for (let run = 0; run < MAX_RERUNS; run++) {
    const got = await deps.ledger.acquire(item.associationId, item.path, deps.owner, ttl);
    if (!got.acquired) return run === 0 ? only({ outcome: 'deferred', reason: 'lease-held' }) : last;
    const lease = got.lease;
    let synced: Synced;
    try {
      synced = await syncPath(item, association, side, lease.base, deps);
    } catch (error) {
      await deps.ledger.release(item.associationId, item.path, lease).catch(() => undefined);
      // Another writer changed the object between the decision and a conditional write: decide again.
      if (error instanceof PreconditionLostError && run < MAX_RERUNS - 1) continue;
      // A path that can never be synced is reported, not retried.
      if (error instanceof SyncError && REFUSALS.has(error.code)) {
        return only({ action: 'skip', outcome: 'skipped', code: error.code, message: error.message });
      }
      throw error;
    }
    const { rerun } = await finish(deps.ledger, item, lease, synced.write);
    const followUps = [...last.followUps, ...synced.followUps];
    // Started after the release: the execution takes the lease and decides again under it.
    if (synced.handOff) {
      await startHandOff(deps, synced.handOff);
      return { result: result(synced.result), followUps };
    }
    // A rerun after a transfer reports the transfer, not the quiet re-check.
    const reported = run === 0 || synced.result.outcome !== 'unchanged' ? result(synced.result) : last.result;
    last = { result: reported, followUps };
    if (!rerun) return last;
  }
  return last;
}

function startHandOff(deps: ApplyDeps, request: LargeTransferRequest): Promise<void> {
  if (!deps.largeTransfers) throw new SyncError('Internal', 'a large-file hand-off with no large-file path');
  return deps.largeTransfers.start(request);
}

function finish(ledger: Ledger, item: WorkItem, lease: Lease, write: LedgerWrite | undefined) {
  return write === undefined
    ? ledger.release(item.associationId, item.path, lease)
    : ledger.commit(item.associationId, item.path, lease, write);
}

function planContext(side: Side, deps: ApplyDeps): PlanContext {
  return {
    location: side.location,
    ...(deps.largeTransfers ? { large: deps.largeTransfers } : {}),
    host: deps.host,
    now: deps.now ?? Date.now,
    random4: () => randomBytes(2).toString('hex'),
    transferId: randomUUID,
  };
}

/** The phases under one lease: observe, decide, plan, execute — twice more after a kind change. */
async function syncPath(
  item: WorkItem,
  association: Association,
  side: Side,
  leaseBase: LedgerEntry | undefined,
  deps: ApplyDeps,
): Promise<Synced> {
  const context = planContext(side, deps);
  let base = leaseBase;
  let synced: Synced = { write: undefined, result: {}, followUps: [] };
  for (let step = 0; step < MAX_STEPS; step++) {
    const decided = await observeAndDecide(side, item.path, item.kindHint, base, association, {
      fetchNew: true,
    });
    let executed: Synced;
    try {
      const plan = planPath(decided, item, context);
      executed = {
        ...(await execute(plan, item, association, side, deps)),
        ...(plan.handOff ? { handOff: plan.handOff } : {}),
      };
    } finally {
      // Read by the import, or left unread (a large-file hand-off, a failure): never left open.
      decided.body?.destroy();
    }
    if (executed.result.outcome !== 'unchanged' || step === 0) synced = mergeSynced(synced, executed);
    if (decided.decision.reason !== 'kind-changed') return synced;
    // The stale side is gone; decide again from "nothing in common".
    base = undefined;
  }
  return synced;
}

function mergeSynced(previous: Synced, next: Synced): Synced {
  // `null` (drop the row) is a write: `??` would turn it into "leave the row".
  const write = next.write !== undefined ? next.write : previous.write;
  const handOff = next.handOff ?? previous.handOff;
  // What the later pass says wins; what it leaves unset keeps the earlier pass's value.
  return {
    write,
    result: withDefaults(previous.result, next.result),
    followUps: [...previous.followUps, ...next.followUps],
    ...(handOff ? { handOff } : {}),
  };
}
