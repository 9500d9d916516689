import type { Lease } from '../adapters/ports.ts';
import { toFsSnapshot, toS3Snapshot } from '../core/decide.ts';
import { pathToKey } from '../core/mapping.ts';
import type { LedgerEntry, WorkItem } from '../core/types.ts';
import type { ApplyDeps } from './deps.ts';
import type { Applied } from './queue.ts';
import type { Side } from './transfer.ts';

type RenamedItem = WorkItem & { renamedFrom: string };

/**
 * Applies a rename on the file system as a server-side move in S3: no byte is
 * uploaded again. With both paths' leases held, and only if the file is
 * unchanged since its last sync (same ino, size, mtime and mode as the old
 * path's ledger row; a rename moves only ctime), the old path is gone (else
 * it is a hard link) and nothing sits at the new key:
 *
 * 1. CopyObject old key → new key, conditional on the old row's ETag;
 * 2. commit the new path's row (the copy's ETag, the file's new stat);
 * 3. DeleteObject the old key with If-Match;
 * 4. write the old path's tombstone.
 *
 * A crash after any step leaves a state the plain decision repairs without a
 * transfer: after 1, both sides of the new path are equal (the copy keeps
 * the `file-mtime` metadata), so it is recorded; after 2, the old path is
 * "deleted on the file system, unchanged in S3", so its object is deleted;
 * after 3, both sides of the old path are gone and its row is dropped. That
 * is why no separate intent row is written before the copy.
 *
 * Anything else — a changed file, a held lease, an object already at the new
 * key — falls back to the plain path: the new path and then the old one go
 * back onto the executor's queue (src/sync/queue.ts) as plain items, and the
 * new path's result is the rename's.
 */
export async function applyRename(item: RenamedItem, side: Side, deps: ApplyDeps): Promise<Applied> {
  const { renamedFrom, ...newItem } = item;
  const fallback = (): Applied => plainFallback(newItem, renamedFrom);
  const ttl = deps.leaseTtlMs ?? 5 * 60_000;
  const to = await deps.ledger.acquire(item.associationId, item.path, deps.owner, ttl);
  if (!to.acquired) return fallback();
  const from = await deps.ledger.acquire(item.associationId, renamedFrom, deps.owner, ttl);
  if (!from.acquired) {
    await deps.ledger.release(item.associationId, item.path, to.lease);
    return fallback();
  }
  const held = { to: to.lease as Lease | undefined, from: from.lease as Lease | undefined };
  try {
    const moved = await move(item, side, held.to!.base, held.from!.base, deps);
    if (!moved) {
      await release(deps, item.associationId, item.path, held.to);
      await release(deps, item.associationId, renamedFrom, held.from);
      return fallback();
    }
    await deps.ledger.commit(item.associationId, item.path, held.to!, moved.write);
    held.to = undefined;
    await side.store.delete(side.location.bucket, moved.oldKey, { ifMatch: moved.oldEtag });
    await deps.ledger.commit(item.associationId, renamedFrom, held.from!, {
      kind: 'file',
      state: 'deleted',
      syncedAtMs: (deps.now ?? Date.now)(),
    });
    held.from = undefined;
    const result = {
      associationId: item.associationId,
      path: item.path,
      action: 'rename' as const,
      outcome: 'done' as const,
      reason: 'renamed',
      bytes: 0,
      messageIds: item.messageIds,
    };
    return { result, followUps: [] };
  } catch (error) {
    await release(deps, item.associationId, item.path, held.to);
    await release(deps, item.associationId, renamedFrom, held.from);
    throw error;
  }
}

/**
 * The rename as two plain paths: the new one (its result replaces this one)
 * and the old one (not reported). Pure: what the executor's queue runs next.
 */
export function plainFallback(newItem: WorkItem, renamedFrom: string): Applied {
  return {
    // Stands only until the new path's result replaces it.
    result: {
      associationId: newItem.associationId,
      path: newItem.path,
      action: 'none',
      outcome: 'unchanged',
      reason: 'rename-fallback',
      messageIds: newItem.messageIds,
    },
    followUps: [
      { item: newItem, joins: 'replace' },
      { item: { associationId: newItem.associationId, path: renamedFrom, messageIds: [] }, joins: 'quiet' },
    ],
  };
}

async function release(deps: ApplyDeps, associationId: string, path: string, lease: Lease | undefined) {
  if (lease) await deps.ledger.release(associationId, path, lease).catch(() => undefined);
}

/** Checks the preconditions and copies; undefined when the plain path must handle it. */
async function move(
  item: RenamedItem,
  side: Side,
  newBase: LedgerEntry | undefined,
  oldBase: LedgerEntry | undefined,
  deps: ApplyDeps,
) {
  if (oldBase?.state !== 'present' || oldBase.kind !== 'file' || !oldBase.fs || !oldBase.s3) return undefined;
  if (newBase?.state === 'present') return undefined;
  const { bucket, prefix } = side.location;
  const oldKey = pathToKey(item.renamedFrom, prefix, 'file');
  const newKey = pathToKey(item.path, prefix, 'file');
  const [fsOld, fsNew, s3Old, s3New] = await Promise.all([
    side.tree.stat(side.root, item.renamedFrom),
    side.tree.stat(side.root, item.path),
    side.store.head(bucket, oldKey),
    side.store.head(bucket, newKey),
  ]);
  const base = oldBase.fs;
  const unchanged =
    fsNew?.kind === 'file' &&
    fsNew.ino === base.ino &&
    fsNew.size === base.size &&
    fsNew.mtimeNs === base.mtimeNs &&
    fsNew.mode === base.mode;
  const objectSynced = s3Old?.etag === oldBase.s3.etag && s3Old.metaHash === oldBase.s3.metaHash;
  if (fsOld || !unchanged || !objectSynced || s3New) return undefined;
  await side.store.copy(bucket, oldKey, newKey, { size: s3Old.size, ifMatch: s3Old.etag });
  const copied = await side.store.head(bucket, newKey);
  if (!copied) return undefined;
  return {
    oldKey,
    oldEtag: s3Old.etag || undefined,
    write: {
      kind: 'file' as const,
      state: 'present' as const,
      fs: toFsSnapshot(fsNew),
      s3: toS3Snapshot(copied),
      syncedAtMs: (deps.now ?? Date.now)(),
    },
  };
}
