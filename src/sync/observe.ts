import type { Readable } from 'node:stream';
import { decideAction } from '../core/decide.ts';
import type { Association, Decision, FsState, LedgerEntry, S3State, WorkItem } from '../core/types.ts';
import { contentMatches, type Side } from './transfer.ts';

/** What observe found: the decision, both sides, and the object's body when it was read to be imported. */
export interface Observed {
  decision: Decision;
  fs: FsState | undefined;
  s3: S3State | undefined;
  /** Set only when the decision is `import`: the caller reads it or destroys it. */
  body?: Readable;
}

/**
 * Reads both sides of a path and decides against `base`, comparing the bytes
 * when the table asks to. With `fetchNew`, a path with no ledger row and no
 * file, which the policy would import if S3 has it, is read from S3 by a GET
 * (`ObjectStore.open`) instead of a HEAD: a new object costs one request, and
 * an `import` decision comes with the body to write.
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
      const s3 = opened?.state;
      const decision = decideAction({ base, fs, s3, policy: association, rootMounted });
      if (decision.action === 'import' && opened?.body) return { decision, fs, s3, body: opened.body };
      opened?.body?.destroy();
      return { decision, fs, s3 };
    }
  }
  const [fs, s3, rootMounted] = await Promise.all([
    side.tree.stat(side.root, path),
    side.store.stat(side.location.bucket, side.location.prefix, path, kindHint),
    side.tree.sentinelPresent(side.root),
  ]);
  const input = { base, fs, s3, policy: association, rootMounted };
  let decision = decideAction(input);
  if (decision.action === 'checksum' && fs && s3) {
    decision = decideAction({ ...input, contentEqual: await contentMatches(side, path, s3) });
  }
  return { decision, fs, s3 };
}
