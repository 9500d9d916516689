import Database from 'better-sqlite3';
import { LedgerConflictError } from '../core/errors.ts';
import type { LedgerEntry } from '../core/types.ts';
import { TOMBSTONE_TTL_MS } from './ledger-items.ts';
import type { Acquired, Lease, Ledger, LedgerWrite } from './ports.ts';

/**
 * The ledger in an embedded SQLite database: local mode's default, with no
 * network hop. It keeps the protocol of docs/architecture.md §2.3 exactly —
 * leases with the `wanted` counter, commits conditional on owner and `rev`,
 * lease-only rows, tombstones that readers ignore once expired, the inode
 * lookup — but each conditional write is one synchronous transaction on one
 * connection, so it cannot interleave with another in this process, and
 * SQLite's file lock orders it against other processes.
 *
 * DynamoDB's shards have no counterpart: the primary key (association,
 * path) is one B-tree, and the inode lookup is a partial index.
 */

export interface SqliteLedgerOptions {
  /** The database file; ':memory:' for a ledger that lives as long as the object. */
  path: string;
  /** Lets tests move time (lease and tombstone expiry). */
  now?: () => number;
}

/** A row as stored; `fs`/`s3` are JSON. */
interface Row {
  association_id: string;
  path: string;
  kind: LedgerEntry['kind'] | null;
  state: LedgerEntry['state'] | null;
  fs: string | null;
  s3: string | null;
  rev: number | null;
  synced_at_ms: number | null;
  expires_at: number | null;
  ino: string | null;
  lease_owner: string | null;
  lease_until: number | null;
  wanted: number;
}

/** What tests may inspect of a stored row, beyond the LedgerEntry readers see. */
export interface StoredRow {
  leaseOwner?: string;
  wanted: number;
  /** The inode the row is findable by (present rows only). */
  ino?: string;
  expiresAt?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger (
  association_id TEXT NOT NULL,
  path TEXT NOT NULL,
  kind TEXT,
  state TEXT,
  fs TEXT,
  s3 TEXT,
  rev INTEGER,
  synced_at_ms INTEGER,
  expires_at INTEGER,
  ino TEXT,
  lease_owner TEXT,
  lease_until INTEGER,
  wanted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (association_id, path)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_by_ino ON ledger (association_id, ino) WHERE ino IS NOT NULL;
`;

/** Rows per page of `list`. */
const PAGE = 1_000;

function toEntry(row: Row | undefined, nowMs: number): LedgerEntry | undefined {
  if (!row?.state || !row.kind) return undefined;
  if (row.expires_at !== null && row.expires_at * 1000 <= nowMs) return undefined;
  return {
    associationId: row.association_id,
    path: row.path,
    kind: row.kind,
    state: row.state,
    ...(row.fs ? { fs: JSON.parse(row.fs) } : {}),
    ...(row.s3 ? { s3: JSON.parse(row.s3) } : {}),
    rev: row.rev ?? 0,
    syncedAtMs: row.synced_at_ms ?? 0,
    ...(row.expires_at !== null ? { expiresAt: row.expires_at } : {}),
  };
}

/** The ledger of what was last synced, one SQLite row per (association, path). */
export class SqliteLedger implements Ledger {
  readonly #db: Database.Database;
  readonly #now: () => number;
  readonly #select: Database.Statement<[string, string], Row>;
  readonly #acquire: (associationId: string, path: string, owner: string, ttlMs: number) => Acquired;
  readonly #commit: (associationId: string, path: string, lease: Lease, write: LedgerWrite) => boolean;
  readonly #release: (associationId: string, path: string, lease: Lease) => boolean;

  constructor(options: SqliteLedgerOptions) {
    this.#now = options.now ?? Date.now;
    this.#db = new Database(options.path);
    // WAL: readers never block the writer, and a killed process loses no committed row
    // (NORMAL syncs at checkpoints, as dynalite's LevelDB does not fsync each write either).
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = NORMAL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    this.#select = this.#db.prepare('SELECT * FROM ledger WHERE association_id = ? AND path = ?');
    const insertLease = this.#db.prepare(
      'INSERT INTO ledger (association_id, path, lease_owner, lease_until) VALUES (?, ?, ?, ?)',
    );
    const setLease = this.#db.prepare(
      'UPDATE ledger SET lease_owner = ?, lease_until = ? WHERE association_id = ? AND path = ?',
    );
    const bumpWanted = this.#db.prepare(
      'UPDATE ledger SET wanted = wanted + 1 WHERE association_id = ? AND path = ?',
    );
    const remove = this.#db.prepare('DELETE FROM ledger WHERE association_id = ? AND path = ?');
    const write = this.#db.prepare(
      `UPDATE ledger SET kind = ?, state = ?, fs = ?, s3 = ?, rev = ?, synced_at_ms = ?, expires_at = ?,
         ino = ?, lease_owner = NULL, lease_until = NULL WHERE association_id = ? AND path = ?`,
    );
    const clearLease = this.#db.prepare(
      'UPDATE ledger SET lease_owner = NULL, lease_until = NULL WHERE association_id = ? AND path = ?',
    );
    /** The row, if `lease` still holds it at the rev it read; else LedgerConflictError. */
    const held = (associationId: string, path: string, lease: Lease, checkRev: boolean): Row => {
      const row = this.#select.get(associationId, path);
      if (!row || row.lease_owner !== lease.owner || (checkRev && (row.rev ?? 0) !== lease.rev)) {
        throw new LedgerConflictError(
          checkRev
            ? `ledger row ${associationId}:${path} is no longer at rev ${lease.rev} under ${lease.owner}'s lease`
            : `lease on ${associationId}:${path} is no longer held by ${lease.owner}`,
        );
      }
      return row;
    };

    this.#acquire = this.#db.transaction((associationId, path, owner, ttlMs): Acquired => {
      const now = this.#now();
      const row = this.#select.get(associationId, path);
      if (!row) {
        insertLease.run(associationId, path, owner, now + ttlMs);
        return { acquired: true, lease: { owner, base: undefined, rev: 0, wanted: 0 } };
      }
      const free = row.lease_owner === null || (row.lease_until ?? 0) < now || row.lease_owner === owner;
      if (!free) {
        bumpWanted.run(associationId, path);
        return { acquired: false };
      }
      setLease.run(owner, now + ttlMs, associationId, path);
      return {
        acquired: true,
        lease: { owner, base: toEntry(row, now), rev: row.rev ?? 0, wanted: row.wanted },
      };
    });

    this.#commit = this.#db.transaction((associationId, path, lease, next): boolean => {
      const row = held(associationId, path, lease, true);
      if (next === null) {
        remove.run(associationId, path);
      } else {
        const expiresAt =
          next.state === 'deleted'
            ? (next.expiresAt ?? Math.ceil((this.#now() + TOMBSTONE_TTL_MS) / 1000))
            : null;
        // Only present rows are findable by inode: rename pairing looks for a live row whose file vanished.
        const ino = next.state === 'present' && next.fs?.ino ? next.fs.ino : null;
        write.run(
          next.kind,
          next.state,
          next.fs ? JSON.stringify(next.fs) : null,
          next.s3 ? JSON.stringify(next.s3) : null,
          lease.rev + 1,
          next.syncedAtMs,
          expiresAt,
          ino,
          associationId,
          path,
        );
      }
      return row.wanted > lease.wanted;
    });

    this.#release = this.#db.transaction((associationId, path, lease): boolean => {
      const row = held(associationId, path, lease, false);
      const askedSince = row.wanted > lease.wanted;
      // A row that exists only for this lease goes, unless someone asked meanwhile.
      if (lease.rev === 0 && row.rev === null && !askedSince) remove.run(associationId, path);
      else clearLease.run(associationId, path);
      return askedSince;
    });
  }

  /**
   * Deletes tombstones that expired and hold no lease: what DynamoDB's TTL
   * does on AWS. Readers ignore expired rows anyway; this only bounds the file.
   */
  purgeExpired(): number {
    const now = this.#now();
    return this.#db
      .prepare(
        'DELETE FROM ledger WHERE expires_at IS NOT NULL AND expires_at * 1000 <= ? AND (lease_owner IS NULL OR lease_until < ?)',
      )
      .run(now, now).changes;
  }

  async get(associationId: string, path: string): Promise<LedgerEntry | undefined> {
    return toEntry(this.#select.get(associationId, path), this.#now());
  }

  async getMany(associationId: string, paths: string[]): Promise<Array<LedgerEntry | undefined>> {
    const now = this.#now();
    return paths.map((path) => toEntry(this.#select.get(associationId, path), now));
  }

  async acquire(associationId: string, path: string, owner: string, ttlMs: number): Promise<Acquired> {
    return this.#acquire(associationId, path, owner, ttlMs);
  }

  async commit(
    associationId: string,
    path: string,
    lease: Lease,
    write: LedgerWrite,
  ): Promise<{ rerun: boolean }> {
    return { rerun: this.#commit(associationId, path, lease, write) };
  }

  async release(associationId: string, path: string, lease: Lease): Promise<{ rerun: boolean }> {
    return { rerun: this.#release(associationId, path, lease) };
  }

  async findByIno(associationId: string, ino: string): Promise<LedgerEntry[]> {
    const now = this.#now();
    const rows = this.#db
      .prepare<[string, string], Row>(
        "SELECT * FROM ledger WHERE association_id = ? AND ino = ? AND state = 'present' ORDER BY path",
      )
      .all(associationId, ino);
    return rows.flatMap((row) => toEntry(row, now) ?? []);
  }

  /** Every live row of an association, in path order, a page at a time. */
  async *list(associationId: string): AsyncIterable<LedgerEntry[]> {
    const first = this.#db.prepare<[string, number], Row>(
      'SELECT * FROM ledger WHERE association_id = ? ORDER BY path LIMIT ?',
    );
    const next = this.#db.prepare<[string, string, number], Row>(
      'SELECT * FROM ledger WHERE association_id = ? AND path > ? ORDER BY path LIMIT ?',
    );
    let after: string | undefined;
    for (;;) {
      const rows =
        after === undefined ? first.all(associationId, PAGE) : next.all(associationId, after, PAGE);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]!.path;
      const now = this.#now();
      const entries = rows.flatMap((row) => toEntry(row, now) ?? []);
      if (entries.length > 0) yield entries;
      if (rows.length < PAGE) return;
    }
  }

  async clear(associationId: string): Promise<void> {
    this.#db.prepare('DELETE FROM ledger WHERE association_id = ?').run(associationId);
  }

  /** The lease and index fields of a stored row, for tests; undefined when no row exists. */
  inspect(associationId: string, path: string): StoredRow | undefined {
    const row = this.#select.get(associationId, path);
    if (!row) return undefined;
    return {
      ...(row.lease_owner !== null ? { leaseOwner: row.lease_owner } : {}),
      wanted: row.wanted,
      ...(row.ino !== null ? { ino: row.ino } : {}),
      ...(row.expires_at !== null ? { expiresAt: row.expires_at } : {}),
    };
  }

  close(): void {
    this.#db.close();
  }
}
