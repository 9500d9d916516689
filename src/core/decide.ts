import {
  classifyFs,
  classifyS3,
  millisecondsToNs,
  nanoseconds,
  type SideChange,
  sidesEqual,
} from './compare.ts';
import type { ChangeKind, Decision, FsState, LedgerEntry, S3State, SyncAction, SyncPolicy } from './types.ts';

// The comparisons are part of this module's API: apply and the tests use them beside decideAction.
export {
  classifyFs,
  classifyS3,
  fsUnchanged,
  isRacy,
  type SideChange,
  s3Unchanged,
  sidesEqual,
  toFsSnapshot,
  toS3Snapshot,
} from './compare.ts';

/**
 * The decision for one path (docs/architecture.md §2): given the merge base from the
 * ledger and what both sides hold now, what to do. Pure, total (never
 * throws) and idempotent: acting on a decision and deciding again yields
 * `none` or `record`, which is what stops echoes and loops.
 */

/** Every reason a decision can give; stable for tests, logs and metrics. */
export const DECISION_REASONS = [
  'unchanged',
  'absent',
  'both-deleted',
  'both-equal',
  'metadata-differs',
  'need-checksum',
  'fs-new',
  'fs-changed',
  'fs-deleted',
  's3-new',
  's3-changed',
  's3-deleted',
  'both-new',
  'both-changed',
  'fs-deleted-s3-changed',
  'fs-changed-s3-deleted',
  'implied-dir',
  'kind-changed',
  'type-mismatch',
  'policy-excludes',
  'root-unmounted',
] as const;

export type DecisionReason = (typeof DECISION_REASONS)[number];

/** A Decision whose reason is one of DECISION_REASONS. */
export type SyncDecision = Decision & { reason: DecisionReason };

export interface DecideInput {
  /** The ledger row; a 'deleted' tombstone counts as no base. */
  base: LedgerEntry | undefined;
  fs: FsState | undefined;
  s3: S3State | undefined;
  policy: SyncPolicy;
  /** The association root's `.bucketlink` sentinel is present. */
  rootMounted: boolean;
  /** The caller's answer after a 'checksum' decision: the file's MD5 equals the object's ETag. */
  contentEqual?: boolean;
}

const PERMISSION_BITS = 0o7777;

const decision = (action: SyncAction, reason: DecisionReason): SyncDecision => ({ action, reason });

function allows(kinds: ChangeKind[], change: ChangeKind): boolean {
  return kinds.includes(change);
}

/** The action if the policy lists the change, else a skip that says so. */
function gated(
  action: SyncAction,
  reason: DecisionReason,
  kinds: ChangeKind[],
  change: ChangeKind,
): SyncDecision {
  return allows(kinds, change) ? decision(action, reason) : decision('skip', 'policy-excludes');
}

/** Permission bits only: the kinds are already known to agree, and foreign writers may omit the type bits. */
function modesDiffer(fs: FsState, s3: S3State): boolean {
  return s3.meta.mode !== undefined && (s3.meta.mode & PERMISSION_BITS) !== (fs.mode & PERMISSION_BITS);
}

function fsIsNewer(fs: FsState, s3: S3State): boolean {
  const fsNs = nanoseconds(fs.mtimeNs);
  const s3Ns = millisecondsToNs(s3.lastModified);
  if (fsNs === undefined) return false;
  return s3Ns === undefined || fsNs > s3Ns;
}

/** Both sides changed since the base (or both are new and differ): the association's policy decides. */
function resolveConflict(reason: DecisionReason, change: ChangeKind, input: DecideInput): SyncDecision {
  const { fs, s3, policy } = input;
  let action: SyncAction;
  switch (policy.conflictPolicy) {
    case 'S3_WINS':
      action = 'import';
      break;
    case 'FS_WINS':
      action = 'export';
      break;
    case 'NEWER':
      action = fs && s3 && fsIsNewer(fs, s3) ? 'export' : 'import';
      break;
    default:
      // A directory's conflict is about its mode alone: there is no content to keep a copy of.
      action = fs?.kind === 'dir' ? 'import' : 'keepBoth';
  }
  const kinds = action === 'export' ? policy.autoExport : policy.autoImport;
  return { ...gated(action, reason, kinds, change), conflict: true };
}

/** The table of docs/architecture.md §2, for sides classified against the base. */
function decideByTable(fsChange: SideChange, s3Change: SideChange, input: DecideInput): SyncDecision {
  const { autoExport, autoImport } = input.policy;
  const fsQuiet = fsChange === 'same' || fsChange === 'absent';
  const s3Quiet = s3Change === 'same' || s3Change === 'absent';
  if (fsQuiet && s3Quiet)
    return decision('none', fsChange === 'same' || s3Change === 'same' ? 'unchanged' : 'absent');
  if (fsChange === 'new' && s3Quiet) return gated('export', 'fs-new', autoExport, 'NEW');
  if (fsChange === 'changed' && s3Quiet) return gated('export', 'fs-changed', autoExport, 'CHANGED');
  if (s3Change === 'new' && fsQuiet) return gated('import', 's3-new', autoImport, 'NEW');
  if (s3Change === 'changed' && fsQuiet) return gated('import', 's3-changed', autoImport, 'CHANGED');
  if (fsChange === 'deleted' && s3Change === 'same')
    return gated('deleteObject', 'fs-deleted', autoExport, 'DELETED');
  if (fsChange === 'same' && s3Change === 'deleted')
    return gated('deleteFile', 's3-deleted', autoImport, 'DELETED');
  if (fsChange === 'deleted' && s3Change === 'deleted') return decision('dropLedger', 'both-deleted');
  // Modification wins over deletion: nothing written is lost.
  if (fsChange === 'deleted') return gated('import', 'fs-deleted-s3-changed', autoImport, 'CHANGED');
  if (s3Change === 'deleted') return gated('export', 'fs-changed-s3-deleted', autoExport, 'CHANGED');
  if (fsChange === 'new') return resolveConflict('both-new', 'NEW', input);
  return resolveConflict('both-changed', 'CHANGED', input);
}

/**
 * Both sides exist with different kinds. If one side still holds exactly
 * what the base recorded, the other changed kind since: clear the stale side
 * first (the caller decides again, so the create follows the delete).
 * Otherwise it is a collision, and the file system keeps the name.
 */
function decideKindMismatch(
  base: LedgerEntry | undefined,
  fs: FsState,
  s3: S3State,
  input: DecideInput,
): SyncDecision {
  const mismatch: SyncDecision = {
    action: 'skip',
    reason: 'type-mismatch',
    code: 'S3ImportObjectTypeMismatch',
  };
  if (!base) return mismatch;
  const fsKept = classifyFs(base, fs) === 'same';
  const s3Kept = classifyS3(base, s3) === 'same';
  if (s3Kept && !fsKept) {
    // An implied directory has no object to delete; its children's own deletions clear it.
    if (s3.implied) return decision('none', 'implied-dir');
    return gated('deleteObject', 'kind-changed', input.policy.autoExport, 'CHANGED');
  }
  if (fsKept && !s3Kept) {
    // A directory with entries cannot be removed in one step, and those entries keep the name.
    if (fs.kind === 'dir' && fs.hasChildren) return mismatch;
    return gated('deleteFile', 'kind-changed', input.policy.autoImport, 'CHANGED');
  }
  return mismatch;
}

function decideMounted(input: DecideInput): SyncDecision {
  const base = input.base?.state === 'present' ? input.base : undefined;
  const { fs, s3 } = input;
  if (!fs && !s3) return base ? decision('dropLedger', 'both-deleted') : decision('none', 'absent');
  if (base && fs && s3 && classifyFs(base, fs) === 'same' && classifyS3(base, s3) === 'same') {
    return decision('none', 'unchanged');
  }
  if (fs && s3) {
    const equality = sidesEqual(fs, s3, input.contentEqual, { lastModifiedCounts: !base });
    if (equality === 'unknown') return decision('checksum', 'need-checksum');
    if (equality === 'equal') {
      if (!modesDiffer(fs, s3)) return decision('record', 'both-equal');
      if (!base) return decideMetadataOnly(input);
    }
    if (fs.kind !== s3.kind) return decideKindMismatch(base, fs, s3, input);
  }
  // Directories with children exist on S3 only through those children, which create them.
  if (fs?.kind === 'dir' && fs.hasChildren && !s3) return decision('none', 'implied-dir');
  if (s3?.kind === 'dir' && s3.implied && !fs) return decision('none', 'implied-dir');
  return decideByTable(classifyFs(base, fs), classifyS3(base, s3), input);
}

/**
 * Same content, different modes, no base to say who changed: the file
 * system's mode is taken (it is the one users chmod), unless the policy only
 * imports, in which case S3's is.
 */
function decideMetadataOnly(input: DecideInput): SyncDecision {
  const { autoExport, autoImport } = input.policy;
  if (allows(autoExport, 'NEW')) return decision('export', 'metadata-differs');
  if (allows(autoImport, 'NEW')) return decision('import', 'metadata-differs');
  return decision('skip', 'policy-excludes');
}

/**
 * Decides what to do for one path. Rules, in order: unchanged since the base
 * → nothing; both sides equal → record; otherwise directories, kind changes
 * and the table of docs/architecture.md §2, filtered by the association's policies. With
 * the root unmounted (sentinel missing) no decision driven by the file
 * system looking empty is taken.
 */
export function decideAction(input: DecideInput): SyncDecision {
  const decided = decideMounted(input);
  if (input.rootMounted) return decided;
  const drivenByAbsentFs =
    input.fs === undefined && (decided.action === 'export' || decided.action === 'dropLedger');
  if (decided.action !== 'deleteObject' && !drivenByAbsentFs) return decided;
  return {
    action: 'skip',
    reason: 'root-unmounted',
    code: 'RootUnmounted',
    ...(decided.conflict ? { conflict: true } : {}),
  };
}
