import { randomUUID } from 'node:crypto';
import { lstat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import {
  AGENT_DETAIL_TYPE,
  AGENT_SCHEMA_VERSION,
  AGENT_SOURCE,
  type AgentChangeEvent,
  type FileSystemChange,
} from '../core/events.ts';

/**
 * Watches a file-system root and reports settled changes as agent events
 * (`source: bucketlink.agent`, `detail-type: File System Change`).
 *
 * A path is reported once it has been quiet for `quietMs`, not on every
 * write; changes are coalesced into events of at most `maxChanges` entries
 * and 8 KB each. Events are hints: the worker re-reads both sides.
 */
export interface WatcherOptions {
  root: string;
  emit(event: AgentChangeEvent): void;
  quietMs?: number;
  /** How long settled changes wait to be grouped into one event. */
  windowMs?: number;
  maxChanges?: number;
  host?: string;
}

const MAX_ENTRY_BYTES = 8 * 1024;
const IGNORED_NAMES = ['.bucketlink'];
const TEMP_PREFIX = '.bucketlink-tmp-';

export function isIgnoredName(name: string): boolean {
  return IGNORED_NAMES.includes(name) || name.startsWith(TEMP_PREFIX);
}

export class FileSystemWatcher {
  readonly #options: Required<WatcherOptions>;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  #settled: FileSystemChange[] = [];
  #flushTimer: NodeJS.Timeout | undefined;
  #stating = 0;
  #seq = 0;
  #watcher: FSWatcher | undefined;

  constructor(options: WatcherOptions) {
    this.#options = { quietMs: 100, windowMs: 20, maxChanges: 40, host: hostname(), ...options };
  }

  async start(): Promise<void> {
    const watcher = watch(this.#options.root, {
      ignoreInitial: true,
      followSymlinks: false,
      // Our own temp files and the sentinel are never reported.
      ignored: (path) => isIgnoredName(basename(path)),
      atomic: false,
    });
    for (const kind of ['add', 'change', 'addDir', 'unlink', 'unlinkDir'] as const) {
      watcher.on(kind, (path) => this.#touch(path));
    }
    // chokidar drops a change whose mtime did not move (chmod, chown): the raw
    // inotify event still arrives, so take those too.
    watcher.on('raw', (_event, name, details) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || typeof name !== 'string') return;
      const path = basename(watched) === name ? watched : join(watched, name);
      if (!isIgnoredName(basename(path))) this.#touch(path);
    });
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.#watcher = watcher;
  }

  /** Paths waiting to settle or to be sent. */
  pending(): number {
    return this.#timers.size + this.#settled.length + this.#stating;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    await this.#watcher?.close();
  }

  #touch(absolutePath: string): void {
    if (absolutePath === this.#options.root) return;
    const previous = this.#timers.get(absolutePath);
    if (previous) clearTimeout(previous);
    this.#timers.set(
      absolutePath,
      setTimeout(() => {
        this.#timers.delete(absolutePath);
        this.#stating++;
        void this.#settle(absolutePath).finally(() => this.#stating--);
      }, this.#options.quietMs),
    );
  }

  async #settle(absolutePath: string): Promise<void> {
    const path = `/${relative(this.#options.root, absolutePath).split(sep).join('/')}`;
    const seq = this.#seq++;
    const stat = await lstat(absolutePath, { bigint: true }).catch(() => undefined);
    let change: FileSystemChange;
    if (!stat) {
      change = { path, op: 'deleted', seq };
    } else {
      const kind = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'file';
      change = {
        path,
        op: 'modified',
        kind,
        size: Number(stat.size),
        mtimeNs: stat.mtimeNs.toString(),
        ino: stat.ino.toString(),
        seq,
      };
    }
    this.#settled.push(change);
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.windowMs);
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const changes = this.#settled;
    this.#settled = [];
    let group: FileSystemChange[] = [];
    let bytes = 0;
    for (const change of changes) {
      const size = Buffer.byteLength(JSON.stringify(change));
      if (
        group.length &&
        (group.length >= this.#options.maxChanges || bytes + size > MAX_ENTRY_BYTES - 512)
      ) {
        this.#send(group);
        group = [];
        bytes = 0;
      }
      group.push(change);
      bytes += size;
    }
    if (group.length) this.#send(group);
  }

  #send(changes: FileSystemChange[]): void {
    this.#options.emit({
      version: '0',
      id: randomUUID(),
      'detail-type': AGENT_DETAIL_TYPE,
      source: AGENT_SOURCE,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'local',
      resources: [],
      detail: { schema: AGENT_SCHEMA_VERSION, host: this.#options.host, changes },
    });
  }
}
