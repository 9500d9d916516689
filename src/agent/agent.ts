import { join } from 'node:path';
import { AGENT_DETAIL_TYPE, AGENT_SOURCE, type FileSystemChange } from '../core/events.ts';
import { logger } from '../log.ts';
import { LustreChangelogReader } from './changelog.ts';
import { changeDetail, groupChanges, sequence } from './coalesce.ts';
import { Poster, type PutEventsClient } from './post.ts';
import { loadScanState, saveScanState, scanTree } from './scan.ts';
import { Spool, SpoolFullError } from './spool.ts';
import { FileSystemWatcher } from './watch.ts';

/** After a full spool, how soon a scan looks again for the changes that were not spooled. */
const RESCAN_AFTER_FULL_MS = 5_000;
/** While the spool is full, a scan retries its next entry this often. */
const SCAN_WAIT_FOR_ROOM_MS = 500;
const FULL_LOG_EVERY_MS = 10_000;

export interface LustreOptions {
  lfs: string;
  mdt: string;
  user: string;
  pollMs?: number;
}

export interface HostAgentOptions {
  /** The file-system root (the association paths are below it). */
  root: string;
  spoolDirectory: string;
  busName: string;
  client: PutEventsClient;
  host: string;
  quietMs?: number;
  /** Periodic scan interval; 0 scans only at start. */
  scanIntervalMs?: number;
  spoolMaxBytes?: number;
  /** Read a Lustre changelog instead of watching with inotify. */
  lustre?: LustreOptions;
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** What the agent reports on SIGUSR1 / its stats port. */
export interface AgentCounters {
  seen: number;
  spooled: number;
  posted: number;
  retried: number;
  failedCalls: number;
  spoolDepth: number;
  oldestUnpostedMs: number;
  spoolFull: number;
  scans: number;
  changelogRecords: number;
}

/**
 * `bucketlink agent`: file-system changes (inotify or a Lustre changelog,
 * plus scans at start and periodically) → settled, coalesced changes →
 * entries of ≤ 8 KB spooled durably → PutEvents to the bucketlink bus.
 */
export class HostAgent {
  readonly #options: HostAgentOptions;
  readonly #nextSeq = sequence();
  #spool!: Spool;
  #poster!: Poster;
  #watcher: FileSystemWatcher | undefined;
  #reader: LustreChangelogReader | undefined;
  #timers: NodeJS.Timeout[] = [];
  #seen = 0;
  #spooled = 0;
  #spoolFull = 0;
  #scans = 0;
  #submitting: Promise<void> = Promise.resolve();
  /** A change could not be spooled (spool full): a scan will find it again later. */
  #rescanTimer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #fullLoggedAt = 0;
  #closed = false;

  constructor(options: HostAgentOptions) {
    this.#options = options;
  }

  get #statePath(): string {
    return join(this.#options.spoolDirectory, 'scan-state.json');
  }

  async start(): Promise<void> {
    const o = this.#options;
    this.#spool = await Spool.open({ directory: o.spoolDirectory, maxBytes: o.spoolMaxBytes });
    this.#poster = new Poster({
      spool: this.#spool,
      client: o.client,
      retryBaseMs: o.retryBaseMs,
      retryMaxMs: o.retryMaxMs,
    });
    this.#poster.start();
    if (o.lustre) {
      this.#reader = new LustreChangelogReader({
        ...o.lustre,
        mount: o.root,
        nextSeq: this.#nextSeq,
        submit: (changes) => this.submit(changes),
      });
      const poll = () =>
        this.#reader!.poll().catch((error) => logger.error('changelog read failed', { error }));
      await poll();
      this.#every(o.lustre.pollMs ?? 1_000, poll);
    } else {
      this.#watcher = new FileSystemWatcher({
        root: o.root,
        host: o.host,
        quietMs: o.quietMs,
        nextSeq: this.#nextSeq,
        emit: (event) => void this.submit(event.detail.changes).catch(() => undefined),
      });
      await this.#watcher.start();
      // Inotify can overflow silently, and nothing watched while we were stopped.
      await this.scan();
      if (o.scanIntervalMs) this.#every(o.scanIntervalMs, () => this.scan());
    }
  }

  /**
   * Spools changes (grouped into ≤ 8 KB entries, one fsync) and wakes the
   * poster. Rejects with SpoolFullError when the spool is at its bound.
   */
  submit(changes: FileSystemChange[]): Promise<void> {
    const work = this.#submitting.then(async () => {
      this.#seen += changes.length;
      const entries = groupChanges(changes).map((group) => ({
        Source: AGENT_SOURCE,
        DetailType: AGENT_DETAIL_TYPE,
        Detail: JSON.stringify(changeDetail(this.#options.host, group)),
        EventBusName: this.#options.busName,
      }));
      try {
        await this.#spool.append(entries);
      } catch (error) {
        if (error instanceof SpoolFullError) {
          this.#spoolFull++;
          this.#scheduleRescan();
          // Loud, but once per period rather than once per refused change.
          if (Date.now() - this.#fullLoggedAt > FULL_LOG_EVERY_MS) {
            this.#fullLoggedAt = Date.now();
            logger.error('AGENT SPOOL FULL: changes are not being recorded until the bus catches up', {
              refused: changes.length,
              spoolDepth: this.#spool.depth(),
              message: error.message,
            });
          }
        }
        throw error;
      }
      this.#spooled += changes.length;
      this.#poster.notify();
    });
    this.#submitting = work.catch(() => undefined);
    return work;
  }

  /** Diffs the tree against the last scan and spools what differs; then records the new state. */
  scan(): Promise<void> {
    this.#scanning ??= this.#scan().finally(() => {
      this.#scanning = undefined;
    });
    return this.#scanning;
  }

  async #scan(): Promise<void> {
    // The state is saved only once the differences are spooled, so a change
    // that could not be spooled (spool full, crash) is found again by the next scan.
    const previous = await loadScanState(this.#statePath);
    const { changes, state } = await scanTree(this.#options.root, previous, this.#nextSeq);
    this.#scans++;
    try {
      // One entry at a time, waiting for room: a scan diff may be larger than the whole spool.
      for (const group of groupChanges(changes)) {
        for (;;) {
          try {
            await this.submit(group);
            break;
          } catch (error) {
            if (!(error instanceof SpoolFullError) || this.#closed) throw error;
            await new Promise((resolve) => setTimeout(resolve, SCAN_WAIT_FOR_ROOM_MS));
          }
        }
      }
      await saveScanState(this.#statePath, state);
    } catch (error) {
      if (!(error instanceof SpoolFullError)) throw error;
    }
  }

  #scheduleRescan(): void {
    if (this.#rescanTimer || this.#reader) return;
    this.#rescanTimer = setTimeout(() => {
      this.#rescanTimer = undefined;
      void this.scan().catch((error) => logger.error('agent rescan failed', { error }));
    }, RESCAN_AFTER_FULL_MS);
  }

  /** Changes waiting to settle, to be spooled or to be posted. */
  pending(): number {
    return (this.#watcher?.pending() ?? 0) + this.#spool.depth();
  }

  counters(): AgentCounters {
    return {
      seen: this.#seen,
      spooled: this.#spooled,
      posted: this.#poster.counters.posted,
      retried: this.#poster.counters.retried,
      failedCalls: this.#poster.counters.failedCalls,
      spoolDepth: this.#spool.depth(),
      oldestUnpostedMs: this.#spool.oldestAgeMs(),
      spoolFull: this.#spoolFull,
      scans: this.#scans,
      changelogRecords: this.#reader?.records ?? 0,
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#rescanTimer);
    await this.#watcher?.close();
    await this.#submitting;
    await this.#poster.close();
  }

  #every(ms: number, work: () => Promise<unknown>): void {
    let running = false;
    this.#timers.push(
      setInterval(() => {
        if (running) return;
        running = true;
        void work()
          .catch((error) => logger.error('agent periodic work failed', { error }))
          .finally(() => {
            running = false;
          });
      }, ms),
    );
  }
}
