import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerWrite } from '../adapters/ports.ts';
import { isRacy, toFsSnapshot, toS3Snapshot } from '../core/decide.ts';
import { SyncError } from '../core/errors.ts';
import type { ApplyResult, Association, FsState, S3Snapshot, WorkItem } from '../core/types.ts';
import type { ApplyDeps } from './deps.ts';
import type { FollowUp } from './queue.ts';
import type { PathPlan, RowWrite, Step } from './steps.ts';
import { exportPath, importPath, type Side } from './transfer.ts';

/**
 * Phase 4 of docs/architecture.md §2.1: performs a plan's step through the
 * ports, under the lease src/sync/apply.ts holds, and turns the plan's
 * RowWrite into the ledger write to commit. No decisions, no lease or retry
 * logic, and no call into another phase: follow-ups are returned.
 */

export interface Executed {
  /** undefined: leave the ledger row as it is. */
  write: LedgerWrite | undefined;
  result: Partial<ApplyResult>;
  followUps: FollowUp[];
}

/** Both sides as a step left them (for `synced`), and what it moved. */
interface Done {
  fs?: FsState;
  s3?: S3Snapshot;
  kind: FsState['kind'];
  bytes?: number;
  /** keepBoth: where preserve kept the copy (an earlier copy, on a retry). */
  keptAs?: string;
}

export async function execute(
  plan: PathPlan,
  item: WorkItem,
  association: Association,
  side: Side,
  deps: ApplyDeps,
): Promise<Executed> {
  const now = deps.now ?? Date.now;
  const done = await perform(plan.step, item, association, side, deps, now);
  const result = done?.bytes === undefined ? plan.result : { ...plan.result, bytes: done.bytes };
  const keptAs = done?.keptAs;
  const followUps = keptAs
    ? plan.followUps.map((f) => ({ ...f, item: { ...f.item, path: keptAs } }))
    : plan.followUps;
  return { write: rowWrite(plan.write, done, now()), result, followUps };
}

function rowWrite(write: RowWrite, done: Done | undefined, syncedAtMs: number): LedgerWrite | undefined {
  switch (write) {
    case 'leave':
      return undefined;
    case 'drop':
      return null;
    case 'tombstone':
      if (!done) throw new SyncError('Internal', 'a tombstone with no kind');
      return { kind: done.kind, state: 'deleted', syncedAtMs };
    case 'synced':
      if (!done?.fs || !done.s3) throw new SyncError('Internal', 'a synced row without both sides');
      return { kind: done.kind, state: 'present', fs: toFsSnapshot(done.fs), s3: done.s3, syncedAtMs };
  }
}

async function perform(
  step: Step,
  item: WorkItem,
  association: Association,
  side: Side,
  deps: ApplyDeps,
  now: () => number,
): Promise<Done | undefined> {
  switch (step.kind) {
    case 'none':
      return undefined;
    case 'record': {
      const settled = await settle(side, item.path, step.fs, now);
      return { fs: settled, s3: toS3Snapshot(step.s3), kind: settled.kind };
    }
    case 'export': {
      const t = await exportPath(side, item.path, await settle(side, item.path, step.fs, now), step.s3);
      return { ...t, kind: t.fs.kind };
    }
    case 'import': {
      const t = await importPath(side, item.path, step.s3, step.fs, step.body);
      return { ...t, kind: t.fs.kind };
    }
    case 'deleteObject':
      await deps.deleteBudget?.charge(association, 'deleteObject', async () => {
        const root = await side.tree.stat(side.root, '');
        return root?.hasChildren === false;
      });
      await side.store.delete(side.location.bucket, step.s3.key, { ifMatch: step.s3.etag || undefined });
      return { kind: step.s3.kind };
    case 'deleteFile':
      await deps.deleteBudget?.charge(association, 'deleteFile', async () => false);
      await side.tree.remove(side.root, item.path, step.fs, { pruneParents: true });
      return { kind: step.fs.kind };
    case 'keepBoth':
      return keepBoth(step, item, association, side, deps);
  }
}

/**
 * KEEP_BOTH: the file-system version is kept under the conflict name (created
 * exclusively, so two conflicts in one second never overwrite each other),
 * then the object takes the path.
 */
async function keepBoth(
  step: Extract<Step, { kind: 'keepBoth' }>,
  item: WorkItem,
  association: Association,
  side: Side,
  deps: ApplyDeps,
): Promise<Done> {
  const { fs, s3 } = step;
  // A retry (the import below failed once) gets the copy it made before, not a second one.
  const keptAs = await side.tree.preserve(side.root, item.path, step.copyPath);
  // The extra link moved the file's ctime: expect what is there now, if it is still the same file.
  const linked = await side.tree.stat(side.root, item.path);
  if (!linked || linked.ino !== fs.ino || linked.mtimeNs !== fs.mtimeNs || linked.size !== fs.size) {
    throw new SyncError(
      'SourceChangedDuringTransfer',
      `${item.path} changed while its conflict copy was made`,
      {
        retryable: true,
      },
    );
  }
  const imported = await importPath(side, item.path, s3, linked);
  await deps.events.publishConflict({
    associationId: association.associationId,
    path: item.path,
    policy: association.conflictPolicy,
    resolution: 'keepBoth',
    keptAs,
  });
  return { ...imported, kind: imported.fs.kind, keptAs };
}

/**
 * A file whose ctime is within the timestamp granularity of now could be
 * rewritten in the same tick without any visible change; wait one tick and
 * re-stat so the ledger never records such a "racy" snapshot.
 */
async function settle(side: Side, path: string, fs: FsState, now: () => number): Promise<FsState> {
  let current = fs;
  for (let i = 0; i < 3 && current.kind === 'file' && isRacy(current, now()); i++) {
    await sleep(10);
    const again = await side.tree.stat(side.root, path);
    if (!again) throw new SyncError('SourceChangedDuringTransfer', `${path} vanished`, { retryable: true });
    current = again;
  }
  return current;
}
