import type { Ledger } from '../adapters/ports.ts';
import {
  findAssociationForFsPath,
  findAssociationForKey,
  parseDataRepositoryPath,
} from '../core/association.ts';
import { type ObservedStat, observedMatchesBase } from '../core/compare.ts';
import { errorCode, PathNotPosixCompliantError } from '../core/errors.ts';
import {
  type FileSystemChange,
  type PipeRecord,
  type S3Event,
  type SyncEvent,
  syncEvent,
} from '../core/events.ts';
import { hasValidKey, MAX_KEY_BYTES } from '../core/mapping.ts';
import type { Association, NodeKind, WorkItem } from '../core/types.ts';

/** A message that could not be turned into work. */
export interface PlanFailure {
  messageId: string;
  code: string;
  message: string;
}

export interface PlanOutput {
  /** De-duplicated per-path work. */
  items: WorkItem[];
  /** Malformed messages: reported as batch item failures, so they reach the DLQ with their reason. */
  failures: PlanFailure[];
  /** Refused keys (unsafe paths): reported, never retried, never written. */
  rejected: Array<PlanFailure & { key: string }>;
  /** Counts of events that needed no work. */
  dropped: { uncovered: number; echoes: number; policy: number };
  /** Echoes dropped, by association (the EchoesSkipped metric). */
  echoes: Record<string, number>;
  /** Every message of the batch and its SQS SentTimestamp ('' if none), in batch order: the Lag metric. */
  messageIds: string[];
  sentTimestamps: string[];
}

export interface PlanDeps {
  listAssociations(): Promise<Association[]>;
  ledger: Pick<Ledger, 'getMany' | 'findByIno'>;
}

interface Candidate {
  association: Association;
  path: string;
  kindHint?: NodeKind;
  messageId: string;
  /** ETag an S3 "Object Created" event carried, for the cheap echo check. */
  etag?: string;
  /** Agent changes: what happened and the inode, for rename pairing. */
  op?: FileSystemChange['op'];
  ino?: string;
  /** The association-relative path this one was renamed from. */
  renamedFrom?: string;
  /** What the agent saw of a created/modified/attrib path, for the echo check. */
  seen?: ObservedStat;
}

/**
 * Turns one Pipe batch of change events into per-path work items for the
 * associations that cover them. Events are hints only: `apply` re-reads
 * both sides, so duplicates and reordering cost nothing but a little work.
 */
export async function planBatch(records: PipeRecord[], deps: PlanDeps): Promise<PlanOutput> {
  const output: PlanOutput = {
    items: [],
    failures: [],
    rejected: [],
    dropped: { uncovered: 0, echoes: 0, policy: 0 },
    echoes: {},
    messageIds: records.map((record) => record.messageId),
    sentTimestamps: records.map((record) => record.attributes?.SentTimestamp ?? ''),
  };
  const associations = await deps.listAssociations();
  const candidates: Candidate[] = [];
  for (const record of records) {
    const event = parseBody(record, output);
    if (!event) continue;
    if (event.source === 'aws.s3') s3Candidates(record.messageId, event, associations, candidates, output);
    else {
      for (const change of event.detail.changes)
        fsCandidates(record.messageId, change, associations, candidates, output);
    }
  }
  const paired = await pairRenames(candidates, deps);
  const echoes = await findEchoes(paired, deps);
  const byPath = new Map<string, WorkItem>();
  for (const [index, candidate] of paired.entries()) {
    if (echoes.has(index)) {
      const { associationId } = candidate.association;
      output.dropped.echoes++;
      output.echoes[associationId] = (output.echoes[associationId] ?? 0) + 1;
      continue;
    }
    const id = `${candidate.association.associationId}\u0000${candidate.path}`;
    const existing = byPath.get(id);
    if (existing) {
      if (!existing.messageIds.includes(candidate.messageId)) existing.messageIds.push(candidate.messageId);
      if (candidate.renamedFrom) existing.renamedFrom ??= candidate.renamedFrom;
      continue;
    }
    byPath.set(id, {
      associationId: candidate.association.associationId,
      path: candidate.path,
      ...(candidate.kindHint ? { kindHint: candidate.kindHint } : {}),
      messageIds: [candidate.messageId],
      ...(candidate.renamedFrom ? { renamedFrom: candidate.renamedFrom } : {}),
    });
  }
  output.items = [...byPath.values()];
  return output;
}

function parseBody(record: PipeRecord, output: PlanOutput): SyncEvent | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    output.failures.push({
      messageId: record.messageId,
      code: 'MalformedEvent',
      message: 'body is not JSON',
    });
    return undefined;
  }
  const parsed = syncEvent.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join('.') || 'event';
    output.failures.push({
      messageId: record.messageId,
      code: 'MalformedEvent',
      message: `${where}: ${issue?.message ?? 'does not match any event schema'}`,
    });
    return undefined;
  }
  return parsed.data;
}

function s3Candidates(
  messageId: string,
  event: S3Event,
  associations: Association[],
  candidates: Candidate[],
  output: PlanOutput,
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
  output: PlanOutput,
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

/**
 * chokidar and scans report a rename as a delete and a create. A create
 * whose inode the ledger holds for a path deleted in this same batch is that
 * file moved (if the old path were still there it would be a hard link):
 * the create becomes a rename, and the old path's delete is left to it.
 */
async function pairRenames(candidates: Candidate[], deps: PlanDeps): Promise<Candidate[]> {
  const key = (associationId: string, path: string) => `${associationId}\u0000${path}`;
  const deleted = new Set(
    candidates.filter((c) => c.op === 'deleted').map((c) => key(c.association.associationId, c.path)),
  );
  const sources = new Set<string>();
  for (const candidate of candidates) {
    const { associationId } = candidate.association;
    if (deleted.size && candidate.op === 'created' && candidate.ino && !candidate.renamedFrom) {
      const rows = await deps.ledger.findByIno(associationId, candidate.ino);
      const moved = rows.find(
        (row) => row.path !== candidate.path && deleted.has(key(associationId, row.path)),
      );
      if (moved) candidate.renamedFrom = moved.path;
    }
    if (candidate.renamedFrom) sources.add(key(associationId, candidate.renamedFrom));
  }
  return candidates.filter(
    (c) => !(c.op === 'deleted' && sources.has(key(c.association.associationId, c.path))),
  );
}

/**
 * bucketlink's own writes coming back as events: an "Object Created" whose
 * ETag the ledger holds, or an agent report whose stat (ino, size, mtime,
 * ctime, mode) is the one the ledger recorded. Their rows are read in one
 * batch per association. Returns the candidates' indexes.
 */
async function findEchoes(candidates: Candidate[], deps: PlanDeps): Promise<Set<number>> {
  const checked = new Map<string, number[]>();
  const prefixes = new Map<string, string>();
  for (const [index, candidate] of candidates.entries()) {
    if (!candidate.etag && !candidate.seen) continue;
    // A path with no valid key has no row (and would fail the whole batch read): apply refuses it.
    const { associationId, dataRepositoryPath } = candidate.association;
    let prefix = prefixes.get(associationId);
    if (prefix === undefined) {
      prefix = parseDataRepositoryPath(dataRepositoryPath).prefix;
      prefixes.set(associationId, prefix);
    }
    if (!hasValidKey(candidate.path, prefix)) continue;
    const indexes = checked.get(associationId);
    if (indexes) indexes.push(index);
    else checked.set(associationId, [index]);
  }
  const echoes = new Set<number>();
  for (const [associationId, indexes] of checked) {
    const rows = await deps.ledger.getMany(
      associationId,
      indexes.map((index) => candidates[index]!.path),
    );
    for (const [i, index] of indexes.entries()) {
      const { etag, seen } = candidates[index]!;
      const row = rows[i];
      const echo = etag
        ? row?.state === 'present' && row.s3?.etag === etag
        : seen !== undefined && observedMatchesBase(seen, row);
      if (echo) echoes.add(index);
    }
  }
  return echoes;
}
