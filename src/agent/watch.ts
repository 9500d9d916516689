import { lstat, readdir } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import type { FileSystemChange } from '../core/events.ts';
import { logger } from '../log.ts';
import { changeEvent, coalesceByPath, groupChanges } from './coalesce.ts';
import { lstatTree } from './scan.ts';
import { isIgnoredName, signatureOf, type WatcherOptions, watcherOptions } from './watch-options.ts';

/** How long a new directory is listed again while its watch shows no life. */
const RESCAN_FOR_MS = 30_000;
/** Last reported state per path, to report a path once per real change; bounded. */
const REMEMBER_PATHS = 200_000;

/**
 * Watches a file-system root and reports settled changes as agent events
 * (`source: bucketlink.agent`, `detail-type: File System Change`).
 *
 * A path is reported once it has been quiet for `quietMs`, not on every
 * write; changes are coalesced per path and grouped into events of at most
 * `maxChanges` entries and 8 KB each. Events are hints: the worker re-reads
 * both sides.
 */
export class FileSystemWatcher {
  readonly #options: Required<WatcherOptions>;
  readonly #timers = new Map<string, NodeJS.Timeout>();
  /** When each path waiting in #timers was last touched. */
  readonly #touchedAt = new Map<string, number>();
  /** Paths whose pending window saw an `add`: reported as `created`. */
  readonly #added = new Set<string>();
  readonly #reported = new Map<string, string>();
  #settled: FileSystemChange[] = [];
  /**
   * Deletes of known inodes, held so the create of a rename (unlink + add) can pair with them:
   * only while a path touched before the delete settled is still to settle (inotify delivers both
   * halves of a rename together), and never past `until` (renameWindowMs).
   */
  readonly #held = new Map<string, { change: FileSystemChange; settledAt: number; until: number }>();
  #flushTimer: NodeJS.Timeout | undefined;
  /** Directories chokidar reported gone, waiting for their reported descendants to be touched. */
  #goneDirectories = new Set<string>();
  #goneTimer: NodeJS.Immediate | undefined;
  /** Directories chokidar announced (or was asked to watch) since start. */
  readonly #announced = new Set<string>();
  /** New directories whose chokidar watch has not shown life yet, with their next rescan. */
  readonly #unwatched = new Map<string, NodeJS.Timeout>();
  #busy = 0;
  #watcher: FSWatcher | undefined;

  constructor(options: WatcherOptions) {
    this.#options = watcherOptions(options);
  }

  async start(): Promise<void> {
    const watcher = watch(this.#options.root, {
      ignoreInitial: true,
      followSymlinks: false,
      // chokidar watches directories only. Left to itself it also opens an
      // fs.watch per file, about 18 KB of resident memory each (10,000 files:
      // +183 MiB), so memory would grow with the tree. A directory's watch
      // already reports every change to its entries: the raw events below.
      // Our own temp files and the sentinel are never reported.
      ignored: (path, stats) =>
        isIgnoredName(basename(path)) || (stats !== undefined && !stats.isDirectory()),
      atomic: false,
    });
    watcher.on('unlinkDir', (path) => {
      this.#announced.delete(path);
      this.#touch(path);
      this.#goneDirectories.add(this.#key(path));
      this.#goneTimer ??= setImmediate(() => this.#touchDescendantsOfGone());
    });
    watcher.on('addDir', (path) => {
      this.#announced.add(path);
      this.#touch(path, true);
      this.#rescanUntilWatched(path);
    });
    // Every change to an entry (create, write, chmod, chown, delete, move) as
    // the directory's inotify watch saw it; settle finds out which it was.
    watcher.on('raw', (_event, name, details) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || typeof name !== 'string') return;
      this.#watchIsLive(watched);
      const path = basename(watched) === name ? watched : join(watched, name);
      if (!isIgnoredName(basename(path))) this.#touch(path);
    });
    watcher.on('error', (error) => logger.error('watcher error', { root: this.#options.root, error }));
    await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
    this.#watcher = watcher;
    await this.#baseline();
  }

  /**
   * What the tree holds at start, remembered as if reported: a later event
   * for an unchanged path reports nothing, a change reads as `modified`, and
   * the files of a directory deleted later are known, so each settles as
   * deleted. About 200 bytes a path (REMEMBER_PATHS bounds it).
   */
  async #baseline(): Promise<void> {
    for await (const { path, absolute, stat } of lstatTree(this.#options.root)) {
      if (stat.isDirectory()) this.#announced.add(absolute);
      if (!this.#reported.has(path)) this.#remember(path, signatureOf(stat));
    }
  }

  /** Paths waiting to settle or to be sent. */
  pending(): number {
    return this.#timers.size + this.#settled.length + this.#held.size + this.#busy;
  }

  async close(): Promise<void> {
    for (const timer of [...this.#timers.values(), ...this.#unwatched.values()]) clearTimeout(timer);
    this.#timers.clear();
    this.#touchedAt.clear();
    this.#unwatched.clear();
    if (this.#flushTimer) clearTimeout(this.#flushTimer);
    if (this.#goneTimer) clearImmediate(this.#goneTimer);
    await this.#watcher?.close();
  }

  #touch(absolutePath: string, added = false): void {
    if (absolutePath === this.#options.root) return;
    if (added) this.#added.add(absolutePath);
    const previous = this.#timers.get(absolutePath);
    if (previous) clearTimeout(previous);
    this.#touchedAt.set(absolutePath, Date.now());
    this.#timers.set(
      absolutePath,
      setTimeout(() => {
        this.#timers.delete(absolutePath);
        this.#touchedAt.delete(absolutePath);
        this.#busy++;
        void this.#settle(absolutePath).finally(() => this.#busy--);
      }, this.#options.quietMs),
    );
  }

  /**
   * chokidar lists a new directory and only then watches it, so a file
   * written in between is never announced (paulmillr/chokidar#1471; under
   * load the gap lasts hundreds of ms). List the directory now and again,
   * at growing intervals, until its watch shows life (a raw event from it)
   * or RESCAN_FOR_MS has passed; the listing after the first sign of life
   * finds whatever the gap hid.
   */
  #rescanUntilWatched(directory: string, delay = Math.max(this.#options.quietMs, 50), waited = 0): void {
    void this.#rescan(directory);
    if (waited >= RESCAN_FOR_MS) {
      this.#unwatched.delete(directory);
      return;
    }
    const timer = setTimeout(() => this.#rescanUntilWatched(directory, delay * 2, waited + delay), delay);
    timer.unref();
    this.#unwatched.set(directory, timer);
  }

  #watchIsLive(directory: string): void {
    const timer = this.#unwatched.get(directory);
    if (!timer) return;
    clearTimeout(timer);
    this.#unwatched.delete(directory);
    void this.#rescan(directory);
  }

  /**
   * A directory deleted or moved away takes its files with it, and a
   * directory's watch does not report those one by one: touch every path
   * reported below it, so each settles as deleted (and a move pairs by
   * inode with the files the new directory's listing finds). One pass over
   * what was reported, however many directories went at once.
   */
  #touchDescendantsOfGone(): void {
    const gone = this.#goneDirectories;
    this.#goneDirectories = new Set();
    this.#goneTimer = undefined;
    for (const path of this.#reported.keys()) {
      for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1)) {
        if (!gone.has(path.slice(0, slash))) continue;
        this.#touch(join(this.#options.root, path));
        break;
      }
    }
  }

  async #rescan(directory: string): Promise<void> {
    this.#busy++;
    try {
      const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const path = join(entry.parentPath, entry.name);
        if (relative(directory, path).split(sep).some(isIgnoredName)) continue;
        // A directory made inside one chokidar had not watched yet is never
        // announced, nor watched: have chokidar watch it too.
        if (entry.isDirectory() && !this.#announced.has(path)) {
          this.#announced.add(path);
          this.#watcher?.add(path);
          this.#rescanUntilWatched(path);
        }
        // Already waiting: its own events will settle it.
        if (!this.#timers.has(path)) this.#touch(path, !this.#reported.has(this.#key(path)));
      }
    } finally {
      this.#busy--;
    }
  }

  /** `/a/b` for `<root>/a/b`: how paths are reported and remembered. */
  #key(absolutePath: string): string {
    return `/${relative(this.#options.root, absolutePath).split(sep).join('/')}`;
  }

  async #settle(absolutePath: string): Promise<void> {
    const path = this.#key(absolutePath);
    const added = this.#added.delete(absolutePath);
    const stat = await lstat(absolutePath, { bigint: true }).catch(() => undefined);
    const signature = stat ? signatureOf(stat) : 'deleted';
    // A rescan or a stray event for a path already reported in this state is not a change.
    if (this.#reported.get(path) === signature) return;
    if (signature === 'deleted' && !this.#reported.has(path) && added) return;
    const before = this.#reported.get(path);
    this.#remember(path, signature);
    let change: FileSystemChange;
    if (!stat) {
      change = { path, op: 'deleted', seq: this.#options.nextSeq() };
      // The inode it had, so a create of the same inode elsewhere reads as a rename.
      const ino = before?.split(':')[0];
      if (ino) {
        const now = Date.now();
        this.#held.set(ino, { change, settledAt: now, until: now + this.#options.renameWindowMs });
        this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.windowMs);
        return;
      }
    } else {
      const kind = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'file';
      change = {
        path,
        // First seen since start (nothing reported for the path): created.
        op: added || before === undefined ? 'created' : 'modified',
        kind,
        size: Number(stat.size),
        mtimeNs: stat.mtimeNs.toString(),
        ctimeNs: stat.ctimeNs.toString(),
        mode: Number(stat.mode),
        ino: stat.ino.toString(),
        seq: this.#options.nextSeq(),
      };
    }
    this.#settled.push(change);
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.windowMs);
  }

  /**
   * chokidar reports a rename as unlink + add: a created path whose inode was
   * just deleted elsewhere becomes one `renamed` change (a directory's
   * children pair one by one, since each keeps its inode).
   */
  #pairRenames(settled: FileSystemChange[]): FileSystemChange[] {
    const changes = coalesceByPath(settled);
    return changes.map((change) => {
      const held = change.op === 'created' && change.ino ? this.#held.get(change.ino) : undefined;
      if (!held || held.change.path === change.path) return change;
      this.#held.delete(change.ino!);
      return { ...change, op: 'renamed', oldPath: held.change.path };
    });
  }

  /**
   * Whether the create of a rename could still be on its way to a delete that settled at
   * `settledAt`: its other half was touched at the same time as the delete (one inotify read
   * carries both), so it is a path touched no later than that and not settled yet, or a
   * settle or a rescan of a moved directory still running. Nothing of the kind: report it.
   */
  #mayStillPair(settledAt: number): boolean {
    if (this.#busy > 0) return true;
    for (const touchedAt of this.#touchedAt.values()) if (touchedAt <= settledAt) return true;
    return false;
  }

  #remember(path: string, signature: string): void {
    this.#reported.delete(path);
    this.#reported.set(path, signature);
    if (this.#reported.size > REMEMBER_PATHS) {
      this.#reported.delete(this.#reported.keys().next().value as string);
    }
  }

  #flush(): void {
    this.#flushTimer = undefined;
    const changes = this.#pairRenames(this.#settled);
    this.#settled = [];
    const now = Date.now();
    for (const [ino, held] of this.#held) {
      if (held.until > now && this.#mayStillPair(held.settledAt)) continue;
      this.#held.delete(ino);
      changes.push(held.change);
    }
    if (this.#held.size) this.#flushTimer = setTimeout(() => this.#flush(), this.#options.windowMs);
    for (const group of groupChanges(changes, { maxChanges: this.#options.maxChanges })) {
      this.#options.emit(changeEvent(this.#options.host, group));
    }
  }
}
