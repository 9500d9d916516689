import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LedgerWrite } from '../adapters/ports.ts';
import { conflictPath } from '../core/conflict.ts';
import { isRacy, toFsSnapshot, toS3Snapshot } from '../core/decide.ts';
import { SyncError } from '../core/errors.ts';
import { pathToKey } from '../core/mapping.ts';
import type { ApplyResult, Association, Decision, FsState, S3State, WorkItem } from '../core/types.ts';
import type { ApplyDeps } from './deps.ts';
import { handOffFor, type LargeTransferRequest } from './large-plan.ts';
import { exportPath, importPath, type Side, type Transferred } from './transfer.ts';

/**
 * What one decision does, under the lease `apply` holds: the transfer or
 * delete itself, and the ledger row to commit afterwards. No lease or
 * retry logic here (src/sync/apply.ts owns those).
 */

/** Syncs another path with the same dependencies (the export of a conflict copy). */
export type ApplyPath = (item: WorkItem) => Promise<ApplyResult>;

export interface Synced {
  /** undefined: leave the ledger row as it is. */
  write: LedgerWrite | undefined;
  result: Partial<ApplyResult>;
  /** Set when the transfer is left to the large-file path, to start once the lease is released. */
  handOff?: LargeTransferRequest;
}

export interface Sides {
  fs: FsState | undefined;
  s3: S3State | undefined;
  /** The object's body, when observe already read it (a new object): the import writes it. */
  body?: Readable;
}

export async function act(
  decision: Decision,
  item: WorkItem,
  association: Association,
  side: Side,
  { fs, s3, body }: Sides,
  deps: ApplyDeps,
  applyPath: ApplyPath,
): Promise<Synced> {
  const now = deps.now ?? Date.now;
  const done = (t: Transferred, kind = t.fs.kind): Synced => ({
    write: { kind, state: 'present', fs: toFsSnapshot(t.fs), s3: t.s3, syncedAtMs: now() },
    result: { action: decision.action, outcome: 'done', reason: decision.reason, bytes: t.bytes },
  });
  const tombstone = (kind: FsState['kind']): Synced => ({
    write: { kind, state: 'deleted', syncedAtMs: now() },
    result: { action: decision.action, outcome: 'done', reason: decision.reason },
  });
  const handOff = handOffFor(deps.largeTransfers, decision, item, fs, s3);
  if (handOff) {
    return {
      write: undefined,
      handOff,
      result: { action: decision.action, outcome: 'handed-off', reason: decision.reason },
    };
  }
  switch (decision.action) {
    case 'none':
    case 'checksum':
      return { write: undefined, result: { action: 'none', outcome: 'unchanged', reason: decision.reason } };
    case 'skip':
      return {
        write: undefined,
        result: { action: 'skip', outcome: 'skipped', reason: decision.reason, code: decision.code },
      };
    case 'record': {
      const settled = await settle(side, item.path, fs!, now);
      return {
        write: {
          kind: settled.kind,
          state: 'present',
          fs: toFsSnapshot(settled),
          s3: toS3Snapshot(s3!),
          syncedAtMs: now(),
        },
        result: { action: 'record', outcome: 'unchanged', reason: decision.reason },
      };
    }
    case 'export':
      return done(await exportPath(side, item.path, await settle(side, item.path, fs!, now), s3));
    case 'import':
      return done(await importPath(side, item.path, s3!, fs, body));
    case 'deleteObject': {
      await deps.deleteBudget?.charge(association, 'deleteObject', async () => {
        const root = await side.tree.stat(side.root, '');
        return root?.hasChildren === false;
      });
      await side.store.delete(side.location.bucket, s3!.key, { ifMatch: s3!.etag || undefined });
      return tombstone(s3!.kind);
    }
    case 'deleteFile':
      await deps.deleteBudget?.charge(association, 'deleteFile', async () => false);
      await side.tree.remove(side.root, item.path, fs!, { pruneParents: true });
      return tombstone(fs!.kind);
    case 'dropLedger':
      return { write: null, result: { action: 'dropLedger', outcome: 'done', reason: decision.reason } };
    case 'keepBoth':
      return keepBoth(item, association, side, { fs, s3 }, deps, done, applyPath);
  }
}

/**
 * KEEP_BOTH: the object takes the path, the file-system version is kept
 * beside it under a conflict name (created exclusively, so two conflicts in
 * one second never overwrite each other) and exported as a path of its own.
 */
async function keepBoth(
  item: WorkItem,
  association: Association,
  side: Side,
  { fs, s3 }: Sides,
  deps: ApplyDeps,
  done: (t: Transferred) => Synced,
  applyPath: ApplyPath,
): Promise<Synced> {
  const proposed = conflictPath(item.path, {
    now: new Date((deps.now ?? Date.now)()),
    origin: deps.host,
    random4: randomBytes(2).toString('hex'),
  });
  pathToKey(proposed, side.location.prefix, fs!.kind);
  // A retry (the import below failed once) gets the copy it made before, not a second one.
  const keptAs = await side.tree.preserve(side.root, item.path, proposed);
  // The extra link moved the file's ctime: expect what is there now, if it is still the same file.
  const linked = await side.tree.stat(side.root, item.path);
  if (!linked || linked.ino !== fs!.ino || linked.mtimeNs !== fs!.mtimeNs || linked.size !== fs!.size) {
    throw new SyncError(
      'SourceChangedDuringTransfer',
      `${item.path} changed while its conflict copy was made`,
      {
        retryable: true,
      },
    );
  }
  const imported = done(await importPath(side, item.path, s3!, linked));
  await deps.events.publishConflict({
    associationId: association.associationId,
    path: item.path,
    policy: association.conflictPolicy,
    resolution: 'keepBoth',
    keptAs,
  });
  // Lambda's own writes are never seen by host agents: export the copy now.
  const copy = await applyPath({ associationId: item.associationId, path: keptAs, messageIds: [] });
  return {
    write: imported.write,
    result: { ...imported.result, conflict: true, bytes: (imported.result.bytes ?? 0) + (copy.bytes ?? 0) },
  };
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
