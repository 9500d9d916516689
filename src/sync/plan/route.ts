import { findAssociationForFsPath, findAssociationForKey } from '../../core/association.ts';
import { errorCode, PathNotPosixCompliantError } from '../../core/errors.ts';
import type { FileSystemChange, S3Event, SyncEvent } from '../../core/events.ts';
import { MAX_KEY_BYTES } from '../../core/mapping.ts';
import type { Association } from '../../core/types.ts';
import type { Candidate, PlanOutput } from './types.ts';

/** Where routing reports what it refuses or drops. */
export type RouteOutput = Pick<PlanOutput, 'rejected' | 'dropped'>;

/**
 * Routes one event to the associations that cover it, applying each
 * association's auto-import/auto-export policy. Covered, allowed changes are
 * appended to `candidates`; unsafe paths go to `output.rejected`, uncovered
 * and policy-filtered ones are counted in `output.dropped`. Pure.
 */
export function routeEvent(
  messageId: string,
  event: SyncEvent,
  associations: Association[],
  candidates: Candidate[],
  output: RouteOutput,
): void {
  if (event.source === 'aws.s3') s3Candidates(messageId, event, associations, candidates, output);
  else {
    for (const change of event.detail.changes)
      fsCandidates(messageId, change, associations, candidates, output);
  }
}

function s3Candidates(
  messageId: string,
  event: S3Event,
  associations: Association[],
  candidates: Candidate[],
  output: RouteOutput,
): void {
  const { key, etag } = event.detail.object;
  let found: ReturnType<typeof findAssociationForKey>;
  try {
    // S3 holds no longer key; a forged one must not reach the ledger, whose sort key has the same limit.
    if (Buffer.byteLength(key) > MAX_KEY_BYTES)
      throw new PathNotPosixCompliantError(
        `key is ${Buffer.byteLength(key)} bytes; S3 allows ${MAX_KEY_BYTES}`,
      );
    found = findAssociationForKey(associations, event.detail.bucket.name, key);
  } catch (error) {
    output.rejected.push({ messageId, key, code: errorCode(error), message: (error as Error).message });
    return;
  }
  if (!found) {
    output.dropped.uncovered++;
    return;
  }
  const created = event['detail-type'] === 'Object Created';
  const { autoImport } = found.association;
  const allowed = created
    ? autoImport.includes('NEW') || autoImport.includes('CHANGED')
    : autoImport.includes('DELETED');
  if (!allowed) {
    output.dropped.policy++;
    return;
  }
  candidates.push({
    association: found.association,
    path: found.path,
    kindHint: found.kind,
    messageId,
    // A copy can rewrite metadata alone, keeping the ETag: only plain uploads are echo-checked.
    ...(created && etag && event.detail.reason !== 'CopyObject' ? { etag: etag.replaceAll('"', '') } : {}),
  });
}

function fsCandidates(
  messageId: string,
  change: FileSystemChange,
  associations: Association[],
  candidates: Candidate[],
  output: RouteOutput,
): void {
  const renamed = renameCandidate(messageId, change, associations);
  if (renamed) {
    candidates.push(renamed);
    return;
  }
  const paths = change.op === 'renamed' && change.oldPath ? [change.oldPath, change.path] : [change.path];
  for (const fsPath of paths) {
    let found: ReturnType<typeof findAssociationForFsPath>;
    try {
      found = findAssociationForFsPath(associations, fsPath);
    } catch (error) {
      output.rejected.push({
        messageId,
        key: fsPath,
        code: errorCode(error),
        message: (error as Error).message,
      });
      continue;
    }
    if (!found) {
      output.dropped.uncovered++;
      continue;
    }
    const { autoExport } = found.association;
    const allowed =
      change.op === 'deleted'
        ? autoExport.includes('DELETED')
        : change.op === 'renamed' || autoExport.includes('NEW') || autoExport.includes('CHANGED');
    if (!allowed) {
      output.dropped.policy++;
      continue;
    }
    candidates.push({
      association: found.association,
      path: found.path,
      ...(change.kind ? { kindHint: change.kind } : {}),
      messageId,
      op: change.op,
      ...(change.ino ? { ino: change.ino } : {}),
      ...(change.op !== 'deleted' ? { seen: change } : {}),
    });
  }
}

/**
 * A file renamed within one association becomes one item for the new path
 * that remembers the old one, so apply can copy server-side. A directory's
 * rename, or one across associations, stays a delete and a create (its
 * children arrive as renames of their own).
 */
function renameCandidate(
  messageId: string,
  change: FileSystemChange,
  associations: Association[],
): Candidate | undefined {
  if (change.op !== 'renamed' || !change.oldPath || change.kind === 'dir') return undefined;
  try {
    const to = findAssociationForFsPath(associations, change.path);
    const from = findAssociationForFsPath(associations, change.oldPath);
    if (!to || !from || to.association.associationId !== from.association.associationId) return undefined;
    const { autoExport } = to.association;
    if (!autoExport.includes('NEW') && !autoExport.includes('CHANGED')) return undefined;
    return {
      association: to.association,
      path: to.path,
      ...(change.kind ? { kindHint: change.kind } : {}),
      messageId,
      op: 'renamed',
      renamedFrom: from.path,
    };
  } catch {
    // An unsafe path is refused by the plain path below, with its reason.
    return undefined;
  }
}
