import { mkdir, open, readFile, rename, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { SyncError } from '../core/errors.ts';

/** One PutEvents entry as the agent posts it. */
export interface SpoolEntry {
  Source: string;
  DetailType: string;
  /** JSON text of the event detail (≤ 8 KB). */
  Detail: string;
  EventBusName: string;
}

/** An entry on disk, not yet acknowledged by the bus. */
export interface SpooledRecord {
  id: number;
  /** Epoch ms when it was spooled (for the "oldest unposted" age). */
  at: number;
  entry: SpoolEntry;
}

/** The spool reached its size bound: the entry was not written, the caller must keep or re-derive it. */
export class SpoolFullError extends SyncError {
  constructor(message: string) {
    super('AgentSpoolFull', message, { retryable: true });
  }
}

export interface SpoolOptions {
  directory: string;
  /** Bound on the spool file; appends past it fail with SpoolFullError. */
  maxBytes?: number;
}

const RECORDS = 'spool.jsonl';
const ACKS = 'acks.jsonl';
const COMPACT_AFTER = 1000;

/**
 * Append-only on-disk spool. Entries are appended and fsynced per batch
 * before they are posted; acknowledgements are appended to a second log
 * and fsynced per batch too. On open, what was spooled and not acknowledged
 * is pending again, so a crash (even `kill -9`) loses nothing: at worst the
 * batch in flight when it died is posted twice. The files are compacted
 * once most of the spool is acknowledged.
 */
export class Spool {
  readonly #directory: string;
  readonly #maxBytes: number;
  readonly #pending = new Map<number, SpooledRecord>();
  #nextId = 1;
  #bytes = 0;
  /** Records in the spool file, acknowledged or not. */
  #onDisk = 0;
  #writing: Promise<unknown> = Promise.resolve();

  private constructor(options: SpoolOptions) {
    this.#directory = options.directory;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  /** Opens (or creates) the spool in `directory` and loads what was never acknowledged. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await mkdir(options.directory, { recursive: true });
    await spool.#load();
    return spool;
  }

  /** Records waiting to be acknowledged, oldest first. */
  pending(): SpooledRecord[] {
    return [...this.#pending.values()];
  }

  depth(): number {
    return this.#pending.size;
  }

  /** Age in ms of the oldest unacknowledged entry (0 when empty). */
  oldestAgeMs(now = Date.now()): number {
    const first = this.#pending.values().next();
    return first.done ? 0 : now - first.value.at;
  }

  bytes(): number {
    return this.#bytes;
  }

  /** Appends entries durably (one fsync for the batch); resolves once they are on disk. */
  append(entries: SpoolEntry[]): Promise<SpooledRecord[]> {
    return this.#serial(async () => {
      const at = Date.now();
      const records = entries.map((entry) => ({ id: this.#nextId++, at, entry }));
      const text = records.map((record) => `${JSON.stringify(record)}\n`).join('');
      const size = Buffer.byteLength(text);
      if (this.#bytes + size > this.#maxBytes) {
        this.#nextId -= records.length;
        throw new SpoolFullError(
          `spool ${this.#directory} is full (${this.#bytes} of ${this.#maxBytes} bytes, ${this.#pending.size} unposted)`,
        );
      }
      await appendSynced(join(this.#directory, RECORDS), text);
      this.#bytes += size;
      this.#onDisk += records.length;
      for (const record of records) this.#pending.set(record.id, record);
      return records;
    });
  }

  /** Marks entries as accepted by the bus (durably); compacts when little is left pending. */
  ack(ids: number[]): Promise<void> {
    return this.#serial(async () => {
      const known = ids.filter((id) => this.#pending.has(id));
      if (!known.length) return;
      await appendSynced(join(this.#directory, ACKS), known.map((id) => `${id}\n`).join(''));
      for (const id of known) this.#pending.delete(id);
      // Rewriting costs the pending records' size: do it when the file is mostly acknowledged.
      const mostlyAcked = this.#onDisk > COMPACT_AFTER && this.#pending.size * 4 < this.#onDisk;
      if (this.#pending.size === 0 || mostlyAcked) await this.#compact();
    });
  }

  /** Rewrites the spool with only pending records; crash-safe (write, fsync, rename). */
  async #compact(): Promise<void> {
    const records = join(this.#directory, RECORDS);
    if (this.#pending.size === 0) {
      // Empty: truncate in place. Acks first would leave acknowledged records pending on a crash.
      await truncate(records, 0);
      await truncate(join(this.#directory, ACKS), 0);
      this.#bytes = 0;
      this.#onDisk = 0;
      return;
    }
    const text = this.pending()
      .map((record) => `${JSON.stringify(record)}\n`)
      .join('');
    const temp = `${records}.tmp`;
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, records);
    await truncate(join(this.#directory, ACKS), 0);
    this.#bytes = Buffer.byteLength(text);
    this.#onDisk = this.#pending.size;
  }

  async #load(): Promise<void> {
    const recordsPath = join(this.#directory, RECORDS);
    const text = await readFile(recordsPath, 'utf8').catch(() => '');
    // A crash mid-append leaves a torn last line: it was never acknowledged nor fsynced, drop it.
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    if (complete.length !== text.length) await truncate(recordsPath, Buffer.byteLength(complete));
    const acked = new Set(
      (await readFile(join(this.#directory, ACKS), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map(Number),
    );
    for (const line of complete.split('\n')) {
      if (!line) continue;
      const record = JSON.parse(line) as SpooledRecord;
      this.#nextId = Math.max(this.#nextId, record.id + 1);
      this.#onDisk++;
      if (!acked.has(record.id)) this.#pending.set(record.id, record);
    }
    this.#bytes = (await stat(recordsPath).catch(() => ({ size: 0 }))).size;
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writing.then(work, work);
    this.#writing = run.catch(() => undefined);
    return run;
  }
}

async function appendSynced(path: string, text: string): Promise<void> {
  const handle = await open(path, 'a');
  try {
    await handle.appendFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
