import type { BigIntStats } from 'node:fs';
import { lstat, open, readdir, readFile, rename } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { FileSystemChange } from '../core/events.ts';
import { isIgnoredName } from './watch-options.ts';

/** What a scan remembers per path: the fields that reveal a change, including `mv`, `tar x` and chmod. */
export type ScanState = Map<string, string>;

interface Seen {
  signature: string;
  kind: 'file' | 'dir' | 'symlink';
  size: number;
  mtimeNs: string;
  ctimeNs: string;
  mode: number;
  ino: string;
}

/**
 * Every path below `root` except bucketlink's own (temp files, the
 * sentinel), with its lstat (symlinks are not followed), in listing order;
 * 64 lstat calls at a time. `path` is `/a/b`, as changes name it.
 */
export async function* lstatTree(
  root: string,
): AsyncGenerator<{ path: string; absolute: string; stat: BigIntStats }> {
  const entries = (await readdir(root, { recursive: true }).catch(() => [] as string[])).filter(
    (entry) => !entry.split(sep).some(isIgnoredName),
  );
  for (let i = 0; i < entries.length; i += 64) {
    const chunk = entries.slice(i, i + 64);
    const stats = await Promise.all(
      chunk.map((entry) => lstat(join(root, entry), { bigint: true }).catch(() => undefined)),
    );
    for (const [j, entry] of chunk.entries()) {
      const stat = stats[j];
      if (stat) yield { path: `/${entry.split(sep).join('/')}`, absolute: join(root, entry), stat };
    }
  }
}

/**
 * Walks `root` (symlinks are not followed) and diffs it against the previous
 * scan on ino, ctime and mode (plus size and mtime). A directory is compared
 * on ino and mode only: its ctime moves whenever a child does. Returns the
 * changes and the new state; `previous` undefined means "no baseline yet":
 * the new state is recorded and nothing is reported.
 */
export async function scanTree(
  root: string,
  previous: ScanState | undefined,
  nextSeq: () => number,
): Promise<{ changes: FileSystemChange[]; state: ScanState }> {
  const seen = new Map<string, Seen>();
  for await (const { path, stat } of lstatTree(root)) {
    const kind = stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'file';
    const signature =
      kind === 'dir'
        ? `dir:${stat.ino}:${stat.mode}`
        : `${kind}:${stat.ino}:${stat.mode}:${stat.ctimeNs}:${stat.size}:${stat.mtimeNs}`;
    seen.set(path, {
      signature,
      kind,
      size: Number(stat.size),
      mtimeNs: stat.mtimeNs.toString(),
      ctimeNs: stat.ctimeNs.toString(),
      mode: Number(stat.mode),
      ino: stat.ino.toString(),
    });
  }
  const state: ScanState = new Map([...seen].map(([path, s]) => [path, s.signature]));
  if (!previous) return { changes: [], state };
  const changes: FileSystemChange[] = [];
  for (const [path, s] of seen) {
    const before = previous.get(path);
    if (before === s.signature) continue;
    const op = before === undefined ? 'created' : sameContent(before, s.signature) ? 'attrib' : 'modified';
    const { kind, size, mtimeNs, ctimeNs, mode, ino } = s;
    changes.push({ path, op, kind, size, mtimeNs, ctimeNs, mode, ino, seq: nextSeq() });
  }
  for (const path of previous.keys()) {
    if (!seen.has(path)) changes.push({ path, op: 'deleted', seq: nextSeq() });
  }
  return { changes, state };
}

/** Same kind, ino, size and mtime: only mode or ctime moved (chmod, chown, a new hard link). */
function sameContent(before: string, after: string): boolean {
  const [kindA, inoA, , , sizeA, mtimeA] = before.split(':');
  const [kindB, inoB, , , sizeB, mtimeB] = after.split(':');
  return kindA === kindB && inoA === inoB && sizeA === sizeB && mtimeA === mtimeB && kindA !== 'dir';
}

/** Reads the last scan's state; undefined when there is none (first start). */
export async function loadScanState(path: string): Promise<ScanState | undefined> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return new Map(Object.entries(JSON.parse(text) as Record<string, string>));
}

/** Saves the state atomically (temp file, fsync, rename). */
export async function saveScanState(path: string, state: ScanState): Promise<void> {
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(JSON.stringify(Object.fromEntries(state)));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}
