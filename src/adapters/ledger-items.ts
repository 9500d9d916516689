import type { LedgerEntry } from '../core/types.ts';
import type { Lease, LedgerWrite } from './ports.ts';
import { LEDGER_TTL_ATTRIBUTE, ledgerInoKey } from './tables.ts';

/**
 * How ledger rows look in DynamoDB and how they map to LedgerEntry. A row can
 * exist only for its lease (no `state` yet): readers treat that as no row.
 */

/** How long a `deleted` tombstone is kept before TTL removes it. */
export const TOMBSTONE_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/** A ledger row as stored. */
export interface LedgerItem {
  pk: string;
  sk: string;
  kind?: LedgerEntry['kind'];
  state?: LedgerEntry['state'];
  fs?: LedgerEntry['fs'];
  s3?: LedgerEntry['s3'];
  rev?: number;
  syncedAtMs?: number;
  expiresAt?: number;
  inoKey?: string;
  leaseOwner?: string;
  leaseUntil?: number;
  /** Grows each time a worker finds the lease taken; the holder compares it with its snapshot. */
  wanted?: number;
}

/** The row as a LedgerEntry, or undefined for a lease-only row or an expired tombstone. */
export function toLedgerEntry(
  associationId: string,
  item: Record<string, unknown> | undefined,
  nowMs: number,
): LedgerEntry | undefined {
  const row = item as LedgerItem | undefined;
  if (!row?.state || !row.kind) return undefined;
  // TTL deletion lags by up to days, and dynalite has no TTL at all.
  if (row.expiresAt !== undefined && row.expiresAt * 1000 <= nowMs) return undefined;
  return {
    associationId,
    path: row.sk,
    kind: row.kind,
    state: row.state,
    ...(row.fs ? { fs: row.fs } : {}),
    ...(row.s3 ? { s3: row.s3 } : {}),
    rev: row.rev ?? 0,
    syncedAtMs: row.syncedAtMs ?? 0,
    ...(row.expiresAt !== undefined ? { expiresAt: row.expiresAt } : {}),
  };
}

/** The lease a successful acquire hands out, from the row it left behind (ALL_NEW). */
export function toLease(
  associationId: string,
  owner: string,
  item: Record<string, unknown> | undefined,
  nowMs: number,
): Lease {
  const row = item as LedgerItem | undefined;
  return {
    owner,
    base: toLedgerEntry(associationId, item, nowMs),
    rev: row?.rev ?? 0,
    wanted: row?.wanted ?? 0,
  };
}

/** True when another worker bumped `wanted` after this lease was taken. */
export function wantedSince(lease: Lease, old: Record<string, unknown> | undefined): boolean {
  return ((old as LedgerItem | undefined)?.wanted ?? 0) > lease.wanted;
}

/** An update expression with its placeholders. */
export interface UpdateParts {
  UpdateExpression: string;
  ExpressionAttributeNames: Record<string, string>;
  ExpressionAttributeValues: Record<string, unknown>;
}

/**
 * The SET/REMOVE that turns whatever the row holds into `write` at `nextRev`
 * and drops the lease. Attributes the write lacks are removed, so a row never
 * keeps a stale `fs`, `s3` or `expiresAt` from an earlier state.
 */
export function rowUpdate(
  associationId: string,
  write: NonNullable<LedgerWrite>,
  nextRev: number,
  nowMs: number,
): UpdateParts {
  const attributes: Record<string, unknown> = {
    kind: write.kind,
    state: write.state,
    syncedAtMs: write.syncedAtMs,
    rev: nextRev,
    fs: write.fs,
    s3: write.s3,
    [LEDGER_TTL_ATTRIBUTE]:
      write.state === 'deleted'
        ? (write.expiresAt ?? Math.ceil((nowMs + TOMBSTONE_TTL_MS) / 1000))
        : undefined,
    // Only present rows join the ino index: rename pairing looks for a live
    // row whose file vanished, never for a tombstone.
    inoKey:
      write.state === 'present' && write.fs?.ino ? ledgerInoKey(associationId, write.fs.ino) : undefined,
  };
  const parts: UpdateParts = {
    UpdateExpression: '',
    ExpressionAttributeNames: {},
    ExpressionAttributeValues: {},
  };
  const set: string[] = [];
  const remove = ['leaseOwner', 'leaseUntil'];
  for (const [index, [name, value]] of Object.entries(attributes).entries()) {
    parts.ExpressionAttributeNames[`#a${index}`] = name;
    if (value === undefined) {
      remove.push(`#a${index}`);
    } else {
      set.push(`#a${index} = :a${index}`);
      parts.ExpressionAttributeValues[`:a${index}`] = value;
    }
  }
  parts.UpdateExpression = `SET ${set.join(', ')} REMOVE ${remove.join(', ')}`;
  return parts;
}
