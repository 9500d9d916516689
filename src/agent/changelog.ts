import { execFile } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { promisify } from 'node:util';
import type { FileSystemChange } from '../core/events.ts';
import { withDefaults } from '../core/options.ts';
import { logger } from '../log.ts';
import { coalesceByPath } from './coalesce.ts';

const run = promisify(execFile);

/** One record as `lfs changelog <mdt>` prints it. */
export interface ChangelogRecord {
  index: number;
  /** CREAT, MKDIR, CLOSE, MTIME, SATTR, UNLNK, RMDIR, RENME, HLINK, SLINK, TRUNC, … */
  type: string;
  /** Target FID, `t=[…]`. */
  target: string;
  /** Parent FID, `p=[…]` (namespace records). */
  parent?: string;
  /** Entry name in `parent` (namespace records). */
  name?: string;
  /** RENME only: the source FID, its old parent and old name (`s=[…] sp=[…] name`). */
  source?: string;
  sourceParent?: string;
  sourceName?: string;
}

const RECORD = /^(\d+) (\d\d)([A-Z]+)\s+\S+ \S+ \S+ (.*)$/;
const FIELD = /^([a-z]+)=(\S*)/;

/**
 * Parses one line of `lfs changelog` output:
 * `<index> <NN><TYPE padded to 5> <time> <date> <flags> t=[fid] [j=… ef=… u=… nid=…] [p=[fid] <name> [s=[fid] sp=[fid] <old name>]]`.
 * Names may hold spaces; they run to the end of the line (or to ` s=[` in a rename).
 */
export function parseChangelogLine(line: string): ChangelogRecord | undefined {
  const match = RECORD.exec(line.trimEnd());
  if (!match) return undefined;
  const [, index, , type, rest] = match as unknown as [string, string, string, string, string];
  const record: ChangelogRecord = { index: Number(index), type, target: '' };
  let remaining = rest;
  for (;;) {
    const field = FIELD.exec(remaining);
    if (!field) break;
    const [whole, key, value] = field as unknown as [string, string, string];
    if (key === 't') record.target = value;
    remaining = remaining.slice(whole.length).trimStart();
    if (key === 'p') {
      record.parent = value;
      break;
    }
  }
  if (record.parent === undefined) return record;
  const rename = / s=(\[[^\]]*\]) sp=(\[[^\]]*\]) (.*)$/.exec(remaining);
  if (rename) {
    record.name = remaining.slice(0, rename.index);
    record.source = rename[1];
    record.sourceParent = rename[2];
    record.sourceName = rename[3];
  } else {
    record.name = remaining;
  }
  return record;
}

export interface ChangelogReaderOptions {
  /** Path of the `lfs` binary. */
  lfs: string;
  /** The MDT device, e.g. `lustre-MDT0000`. */
  mdt: string;
  /** The registered changelog user, e.g. `cl1`. */
  user: string;
  /** The Lustre mount point (the agent's root); reported paths are relative to it. */
  mount: string;
  /** Spools the changes; must resolve only once they are durable. */
  submit(changes: FileSystemChange[]): Promise<void>;
  nextSeq: () => number;
  /** Records per spool batch, each followed by one `changelog_clear`. */
  batchRecords?: number;
}

const CREATED = new Set(['CREAT', 'MKDIR', 'HLINK', 'SLINK', 'MKNOD']);
const DELETED = new Set(['UNLNK', 'RMDIR']);
const MODIFIED = new Set(['CLOSE', 'MTIME', 'TRUNC']);
const ATTRIB = new Set(['SATTR', 'CTIME', 'XATTR']);

/**
 * Reads the Lustre changelog of one MDT, turns records into changes
 * (resolving FIDs with `lfs fid2path`), spools them, and only then
 * acknowledges them with `lfs changelog_clear`, batch by batch: a crash or
 * a full spool leaves the unspooled records in the changelog.
 */
export class LustreChangelogReader {
  readonly #options: Required<ChangelogReaderOptions>;
  #cleared = 0;
  /** Records turned into spooled changes (for the counters). */
  records = 0;

  constructor(options: ChangelogReaderOptions) {
    this.#options = withDefaults({ batchRecords: 1000 }, options);
  }

  /** Reads what the changelog holds now; returns the number of records spooled and cleared. */
  async poll(): Promise<number> {
    const { stdout } = await run(
      this.#options.lfs,
      ['changelog', this.#options.mdt, String(this.#cleared + 1)],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const records = stdout
      .split('\n')
      .map(parseChangelogLine)
      .filter((record): record is ChangelogRecord => !!record && record.index > this.#cleared);
    let done = 0;
    for (let start = 0; start < records.length; start += this.#options.batchRecords) {
      const batch = records.slice(start, start + this.#options.batchRecords);
      const changes = coalesceByPath(await this.#changes(batch));
      if (changes.length) await this.#options.submit(changes);
      const last = batch[batch.length - 1]!.index;
      await run(this.#options.lfs, ['changelog_clear', this.#options.mdt, this.#options.user, String(last)]);
      this.#cleared = last;
      done += batch.length;
      this.records += batch.length;
    }
    return done;
  }

  async #changes(records: ChangelogRecord[]): Promise<FileSystemChange[]> {
    const paths = new Map<string, string | undefined>();
    const resolve = async (fid: string | undefined) => {
      if (!fid) return undefined;
      if (!paths.has(fid)) paths.set(fid, await this.#fid2path(fid));
      return paths.get(fid);
    };
    const changes: FileSystemChange[] = [];
    for (const record of records) {
      if (record.type === 'RENME' && record.name && record.sourceName) {
        const [parent, oldParent] = [await resolve(record.parent), await resolve(record.sourceParent)];
        if (parent === undefined || oldParent === undefined) continue;
        const [path, oldPath] = [childPath(parent, record.name), childPath(oldParent, record.sourceName)];
        const moved = await this.#stat(path, 'renamed', oldPath);
        changes.push(moved);
        // The changelog has one record for a directory's rename; its files moved too, each keeping its inode.
        if (moved.kind === 'dir') changes.push(...(await this.#subtree(path, oldPath)));
      } else if ((CREATED.has(record.type) || DELETED.has(record.type)) && record.name) {
        const parent = await resolve(record.parent);
        if (parent === undefined) continue;
        const path = childPath(parent, record.name);
        changes.push(
          DELETED.has(record.type)
            ? { path, op: 'deleted', seq: this.#options.nextSeq() }
            : await this.#stat(path, 'created'),
        );
      } else if (MODIFIED.has(record.type) || ATTRIB.has(record.type)) {
        // The FID is resolved now, not when the record was written: a file renamed since is reported under its new name.
        const path = await resolve(record.target);
        if (path !== undefined)
          changes.push(await this.#stat(path, MODIFIED.has(record.type) ? 'modified' : 'attrib'));
      }
    }
    return changes;
  }

  async #stat(path: string, op: FileSystemChange['op'], oldPath?: string): Promise<FileSystemChange> {
    const change: FileSystemChange = {
      path,
      op,
      ...(oldPath ? { oldPath } : {}),
      seq: this.#options.nextSeq(),
    };
    const stat = await lstat(join(this.#options.mount, path), { bigint: true }).catch(() => undefined);
    if (!stat) return change;
    return {
      ...change,
      kind: stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'file',
      size: Number(stat.size),
      mtimeNs: stat.mtimeNs.toString(),
      ctimeNs: stat.ctimeNs.toString(),
      mode: Number(stat.mode),
      ino: stat.ino.toString(),
    };
  }

  async #subtree(path: string, oldPath: string): Promise<FileSystemChange[]> {
    const entries = await readdir(join(this.#options.mount, path), { recursive: true }).catch(() => []);
    const changes: FileSystemChange[] = [];
    for (const entry of entries.sort()) {
      const relative = entry.split(sep).join('/');
      changes.push(await this.#stat(`${path}/${relative}`, 'renamed', `${oldPath}/${relative}`));
    }
    return changes;
  }

  /** `lfs fid2path <mount> <fid>` → `/relative/path`; undefined when the FID is gone. */
  async #fid2path(fid: string): Promise<string | undefined> {
    try {
      const { stdout } = await run(this.#options.lfs, ['fid2path', this.#options.mount, fid]);
      const printed = stdout.split('\n')[0]!;
      const mount = this.#options.mount.replace(/\/+$/, '');
      const relative = printed.startsWith(mount) ? printed.slice(mount.length) : printed;
      return `/${relative.replace(/^\/+/, '')}`;
    } catch (error) {
      logger.debug('fid2path failed', { fid, error: (error as Error).message });
      return undefined;
    }
  }
}

function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}
