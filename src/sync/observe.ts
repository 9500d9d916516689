import type { Readable } from 'node:stream';
import { decideAction, type SyncDecision } from '../core/decide.ts';
import type { Association, FsState, LedgerEntry, S3State, WorkItem } from '../core/types.ts';
import { contentMatches, type Side } from './transfer.ts';

/**
 * Phases 1 and 2 of docs/architecture.md §2.1 for one path: observe (both
 * sides, through the ports only) and decide (`decideAction`, pure).
 */

/** What observe read: both sides, and the object's body when it was read by a GET. */
export interface Observed {
  fs: FsState | undefined;
  s3: S3State | undefined;
  rootMounted: boolean;
  /** Set when the object was read by a GET (a new object): the caller reads it or destroys it. */
  body?: Readable;
}

/** What decide gives the plan: the decision and the states it was taken on. */
export interface Decided {
  decision: SyncDecision;
  fs: FsState | undefined;
  s3: S3State | undefined;
  /** Set only when the decision is `import`: the import writes it, or the caller destroys it. */
  body?: Readable;
}

/**
 * Reads both sides of a path. With `fetchNew`, a path with no ledger row and
 * no file, which the policy would import if S3 has it, is read from S3 by a
 * GET (`ObjectStore.open`) instead of a HEAD: a new object costs one request,
 * and an `import` comes with the body to write.
 */
export async function observe(
  side: Side,
  path: string,
  kindHint: WorkItem['kindHint'],
  base: LedgerEntry | undefined,
  association: Association,
  options: { fetchNew?: boolean } = {},
): Promise<Observed> {
  const likelyNew =
    options.fetchNew && !base && kindHint !== 'dir' && path !== '' && association.autoImport.includes('NEW');
  if (likelyNew) {
    const [fs, rootMounted] = await Promise.all([
      side.tree.stat(side.root, path),
      side.tree.sentinelPresent(side.root),
    ]);
    if (!fs) {
      const opened = await side.store.open(side.location.bucket, side.location.prefix, path);
      return { fs, s3: opened?.state, rootMounted, ...(opened?.body ? { body: opened.body } : {}) };
    }
    const s3 = await side.store.stat(side.location.bucket, side.location.prefix, path, kindHint);
    return { fs, s3, rootMounted };
  }
  const [fs, s3, rootMounted] = await Promise.all([
    side.tree.stat(side.root, path),
    side.store.stat(side.location.bucket, side.location.prefix, path, kindHint),
    side.tree.sentinelPresent(side.root),
  ]);
  return { fs, s3, rootMounted };
}

/**
 * Observes the path, then decides against `base`; a `checksum` decision
 * observes the bytes (the file's MD5 against the ETag) and decides again.
 * A body read by observe is kept only for an `import`.
 */
export async function observeAndDecide(
  side: Side,
  path: string,
  kindHint: WorkItem['kindHint'],
  base: LedgerEntry | undefined,
  association: Association,
  options: { fetchNew?: boolean } = {},
): Promise<Decided> {
  const { fs, s3, rootMounted, body } = await observe(side, path, kindHint, base, association, options);
  const input = { base, fs, s3, policy: association, rootMounted };
  let decision = decideAction(input);
  if (decision.action === 'checksum' && fs && s3) {
    decision = decideAction({ ...input, contentEqual: await contentMatches(side, path, s3) });
  }
  if (decision.action === 'import' && body) return { decision, fs, s3, body };
  body?.destroy();
  return { decision, fs, s3 };
}
