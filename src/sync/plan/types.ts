import type { Ledger } from '../../adapters/ports.ts';
import type { ObservedStat } from '../../core/compare.ts';
import type { FileSystemChange } from '../../core/events.ts';
import type { Association, NodeKind, WorkItem } from '../../core/types.ts';

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

/** One change routed to the association that covers it, before renames, echoes and dedupe. */
export interface Candidate {
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

/** The key that identifies one path of one association within a batch. */
export function pathKey(associationId: string, path: string): string {
  return `${associationId}\u0000${path}`;
}
