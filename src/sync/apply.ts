import type { Lease, Ledger, LedgerWrite } from '../adapters/ports.ts';
import { AssociationNotFoundError, errorCode, PreconditionLostError, SyncError } from '../core/errors.ts';
import { pathToKey } from '../core/mapping.ts';
import { withDefaults } from '../core/options.ts';
import type { ApplyResult, Association, LedgerEntry, WorkItem } from '../core/types.ts';
import { act, type Synced } from './act.ts';
import { type ApplyDeps, isActive, sideOf } from './deps.ts';
import { observe } from './observe.ts';
import { applyRename } from './rename.ts';
import type { Side } from './transfer.ts';

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
/** Decide → act rounds within one lease (a kind change is delete, then create). */
const MAX_STEPS = 3;

/**
 * Syncs one path: takes its lease, reads both sides, decides against the
 * ledger and acts, then commits the ledger row conditionally and releases.
 * A worker that cannot get the lease leaves the path to the holder, who
 * re-plans once more before releasing.
 */
export async function applyItem(item: WorkItem, deps: ApplyDeps): Promise<ApplyResult> {
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
  if (!isActive(association)) {
    return result({
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
    return result({
      action: 'skip',
      outcome: 'skipped',
      code: errorCode(error),
      message: (error as Error).message,
    });
  }
  // A file renamed on the file system moves in S3 by a server-side copy.
  if (item.renamedFrom) {
    return applyRename({ ...item, renamedFrom: item.renamedFrom }, side, deps, (plain) =>
      applyItem(plain, deps),
    );
  }
  const ttl = deps.leaseTtlMs ?? 5 * 60_000;
  let last: ApplyResult = result({});
  for (let run = 0; run < MAX_RERUNS; run++) {
    const got = await deps.ledger.acquire(item.associationId, item.path, deps.owner, ttl);
    if (!got.acquired) return run === 0 ? result({ outcome: 'deferred', reason: 'lease-held' }) : last;
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
        return result({ action: 'skip', outcome: 'skipped', code: error.code, message: error.message });
      }
      throw error;
    }
    const { rerun } = await finish(deps.ledger, item, lease, synced.write);
    // Started after the release: the execution takes the lease and decides again under it.
    if (synced.handOff) {
      await deps.largeTransfers!.start(synced.handOff);
      return result(synced.result);
    }
    // A rerun after a transfer reports the transfer, not the quiet re-check.
    if (run === 0 || synced.result.outcome !== 'unchanged') last = result(synced.result);
    if (!rerun) return last;
  }
  return last;
}

function finish(ledger: Ledger, item: WorkItem, lease: Lease, write: LedgerWrite | undefined) {
  return write === undefined
    ? ledger.release(item.associationId, item.path, lease)
    : ledger.commit(item.associationId, item.path, lease, write);
}

async function syncPath(
  item: WorkItem,
  association: Association,
  side: Side,
  leaseBase: LedgerEntry | undefined,
  deps: ApplyDeps,
): Promise<Synced> {
  let base = leaseBase;
  let synced: Synced = { write: undefined, result: {} };
  for (let step = 0; step < MAX_STEPS; step++) {
    const { decision, fs, s3, body } = await observe(side, item.path, item.kindHint, base, association, {
      fetchNew: true,
    });
    let acted: Synced;
    try {
      acted = await act(decision, item, association, side, { fs, s3, body }, deps, (copy) =>
        applyItem(copy, deps),
      );
    } finally {
      // Read by the import, or left unread (a large-file hand-off, a failure): never left open.
      body?.destroy();
    }
    if (acted.result.outcome !== 'unchanged' || step === 0) synced = mergeSynced(synced, acted);
    if (decision.reason !== 'kind-changed') return synced;
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
  return { write, result: withDefaults(previous.result, next.result), ...(handOff ? { handOff } : {}) };
}

/** Maps a thrown error to a failed result (for callers that run items outside the state machine). */
export function failedResult(item: WorkItem, error: unknown): ApplyResult {
  return {
    associationId: item.associationId,
    path: item.path,
    action: 'none',
    outcome: 'failed',
    code: errorCode(error),
    message: error instanceof Error ? error.message : String(error),
    messageIds: item.messageIds,
  };
}
