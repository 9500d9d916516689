import fs from 'node:fs';
import { appendFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileSystemWatcher } from '../../../src/agent/watch.ts';
import type { AgentChangeEvent, FileSystemChange } from '../../../src/core/events.ts';
import { agentChangeEvent } from '../../../src/core/events.ts';
import { eventually } from '../../support/bucketlink.ts';

/** Acceptance 1 runs at the size by default; BUCKETLINK_BURST_FILES shrinks it on a slow machine. */
const BURST_FILES = Number(process.env.BUCKETLINK_BURST_FILES ?? 10_000);
const BURST_DIRS = 100;

describe('FileSystemWatcher', () => {
  let watcher: FileSystemWatcher | undefined;
  let root: string;
  const changes: FileSystemChange[] = [];
  const events: AgentChangeEvent[] = [];

  async function startWatcher(quietMs: number, extra: { renameWindowMs?: number } = {}) {
    root = await mkdtemp(join(tmpdir(), 'bucketlink-watch-'));
    changes.length = 0;
    events.length = 0;
    watcher = new FileSystemWatcher({
      root,
      quietMs,
      ...extra,
      host: 'test-host',
      emit: (event) => {
        events.push(event);
        changes.push(...event.detail.changes);
      },
    });
    await watcher.start();
  }

  afterEach(async () => {
    await watcher?.close();
    await rm(root, { recursive: true, force: true });
  });

  it('reports a file written in 100 small appends over 2 s once, after it settles', async () => {
    await startWatcher(400);
    const file = join(root, 'growing.log');
    for (let i = 0; i < 100; i++) {
      await appendFile(file, `line ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await eventually(async () => watcher!.pending() === 0 && changes.length > 0);
    // One more quiet period: nothing else may arrive.
    await new Promise((resolve) => setTimeout(resolve, 800));
    const reported = changes.filter((change) => change.path === '/growing.log');
    expect(reported).toHaveLength(1);
    const size = Array.from({ length: 100 }, (_, i) => `line ${i}\n`).join('').length;
    expect(reported[0]).toMatchObject({ op: 'created', kind: 'file', size });
    expect(reported[0]!.ino).toMatch(/^\d+$/);
  });

  it(`reports each of ${BURST_FILES} files written in a burst across ${BURST_DIRS} new nested directories exactly once`, async () => {
    await startWatcher(300);
    const expected = new Set<string>();
    const perDir = Math.ceil(BURST_FILES / BURST_DIRS);
    for (let d = 0; d < BURST_DIRS; d++) {
      // Nested: a/dNN/eNN so two levels of brand-new directories appear at once.
      const dir = join(root, `a${d % 10}`, `d${d}`, `e${d}`);
      await mkdir(dir, { recursive: true });
      await Promise.all(
        Array.from({ length: perDir }, (_, f) => {
          const path = `/a${d % 10}/d${d}/e${d}/f${f}.txt`;
          expected.add(path);
          return writeFile(join(root, path), `file ${d}/${f}`);
        }),
      );
    }
    await eventually(async () => {
      const seen = new Set(changes.filter((c) => c.kind === 'file').map((c) => c.path));
      return watcher!.pending() === 0 && [...expected].every((path) => seen.has(path));
    }, 60_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const files = changes.filter((c) => c.kind === 'file');
    const counts = new Map<string, number>();
    for (const change of files) counts.set(change.path, (counts.get(change.path) ?? 0) + 1);
    expect([...counts.values()].filter((n) => n > 1)).toEqual([]);
    expect(new Set(counts.keys())).toEqual(expected);
    // Every event is a valid schema-v1 entry of at most 8 KB.
    for (const event of events) {
      expect(agentChangeEvent.safeParse(event).success).toBe(true);
      expect(Buffer.byteLength(JSON.stringify(event.detail))).toBeLessThanOrEqual(8 * 1024);
    }
  }, 120_000);

  it('pairs the unlink + add of a rename, for a file and for every child of a moved directory', async () => {
    await startWatcher(150);
    await mkdir(join(root, 'dir1', 'sub'), { recursive: true });
    const names = Array.from({ length: 20 }, (_, i) => (i % 2 ? `sub/f${i}` : `f${i}`));
    for (const name of names) await writeFile(join(root, 'dir1', name), name);
    await writeFile(join(root, 'solo.txt'), 'solo');
    await eventually(async () => watcher!.pending() === 0 && changes.length >= names.length + 1);
    changes.length = 0;

    await rename(join(root, 'solo.txt'), join(root, 'moved.txt'));
    await rename(join(root, 'dir1'), join(root, 'dir2'));
    await eventually(async () =>
      names.every((name) => changes.some((c) => c.path === `/dir2/${name}` && c.op === 'renamed')),
    );
    await eventually(async () => watcher!.pending() === 0);
    expect(changes.find((c) => c.path === '/moved.txt')).toMatchObject({
      op: 'renamed',
      oldPath: '/solo.txt',
    });
    for (const name of names) {
      expect(changes.find((c) => c.path === `/dir2/${name}`)).toMatchObject({
        op: 'renamed',
        oldPath: `/dir1/${name}`,
        kind: 'file',
      });
    }
    // The old paths are not reported as deleted on their own: the rename carries them.
    expect(changes.filter((c) => c.op === 'deleted' && c.path.startsWith('/dir1/'))).toEqual([]);
  });

  it('reports a delete without waiting out the rename window, and still pairs a rename inside it', async () => {
    // A window far longer than any settle: a delete that waited it out would take 10 s.
    await startWatcher(100, { renameWindowMs: 10_000 });
    await writeFile(join(root, 'doomed.txt'), 'bye');
    await writeFile(join(root, 'before.txt'), 'moved');
    await eventually(async () => watcher!.pending() === 0 && changes.length >= 2);
    changes.length = 0;

    const started = Date.now();
    await rm(join(root, 'doomed.txt'));
    await eventually(async () => changes.some((c) => c.path === '/doomed.txt' && c.op === 'deleted'), 5_000);
    const deleteMs = Date.now() - started;

    await rename(join(root, 'before.txt'), join(root, 'after.txt'));
    await eventually(async () => changes.some((c) => c.path === '/after.txt'), 5_000);
    expect(changes.find((c) => c.path === '/after.txt')).toMatchObject({
      op: 'renamed',
      oldPath: '/before.txt',
    });
    expect(changes.filter((c) => c.path === '/before.txt')).toEqual([]);
    // The quiet window (100 ms) and the grouping window (20 ms), with room for a loaded machine.
    expect(deleteMs).toBeLessThan(3_000);
  });

  it('reports a chmod, and a delete, of a file it already reported', async () => {
    await startWatcher(100);
    const file = join(root, 'mode.txt');
    await writeFile(file, 'x');
    await eventually(async () => changes.some((c) => c.path === '/mode.txt'));
    const { chmod } = await import('node:fs/promises');
    await chmod(file, 0o600);
    await eventually(async () => changes.filter((c) => c.path === '/mode.txt').length === 2);
    await rm(file);
    await eventually(async () => changes.some((c) => c.path === '/mode.txt' && c.op === 'deleted'));
  });

  it('reports a file written into a new directory after chokidar listed it but before it watches it', async () => {
    // chokidar lists a new directory, then watches it (paulmillr/chokidar#1471).
    // A loaded process stretches that gap; here chokidar's listing of `slow`
    // is held 500 ms, and the file is written just before the watch starts.
    await startWatcher(100);
    const slow = join(root, 'slow');
    const realReaddir = fs.promises.readdir;
    const realWatch = fs.watch;
    fs.promises.readdir = (async (path: string, options?: { recursive?: boolean }) => {
      const listed = await realReaddir(path, options as never);
      if (path === slow && !options?.recursive) await new Promise((resolve) => setTimeout(resolve, 500));
      return listed;
    }) as typeof realReaddir;
    fs.watch = ((path: string, ...rest: unknown[]) => {
      if (path === slow) fs.writeFileSync(join(slow, 'late.txt'), 'late');
      return (realWatch as (...args: unknown[]) => fs.FSWatcher)(path, ...rest);
    }) as typeof fs.watch;
    syncBuiltinESMExports();
    try {
      await mkdir(slow);
      await eventually(async () => changes.some((change) => change.path === '/slow/late.txt'), 10_000);
    } finally {
      fs.promises.readdir = realReaddir;
      fs.watch = realWatch;
      syncBuiltinESMExports();
    }
    expect(changes.find((change) => change.path === '/slow/late.txt')).toMatchObject({
      op: 'created',
      size: 4,
    });
  });

  it('reports each file of a directory that existed before it started, when the directory is moved away', async () => {
    // The files are written before the watcher starts: only its baseline knows them.
    root = await mkdtemp(join(tmpdir(), 'bucketlink-watch-'));
    await mkdir(join(root, 'old', 'sub'), { recursive: true });
    for (const name of ['a.txt', 'b.txt', 'sub/c.txt']) await writeFile(join(root, 'old', name), name);
    await writeFile(join(root, 'kept.txt'), 'kept');
    changes.length = 0;
    watcher = new FileSystemWatcher({
      root,
      quietMs: 100,
      emit: (event) => changes.push(...event.detail.changes),
    });
    await watcher.start();

    // Moved out of the root: no event names its files (an `rm -r` would, one by one).
    const outside = await mkdtemp(join(tmpdir(), 'bucketlink-outside-'));
    await rename(join(root, 'old'), join(outside, 'old'));
    await appendFile(join(root, 'kept.txt'), ' and changed');
    await eventually(
      async () => watcher!.pending() === 0 && changes.some((c) => c.path === '/old/sub/c.txt'),
      10_000,
    );
    const deleted = changes.filter((c) => c.op === 'deleted').map((c) => c.path);
    expect(deleted).toEqual(expect.arrayContaining(['/old/a.txt', '/old/b.txt', '/old/sub/c.txt']));
    expect(changes.find((c) => c.path === '/kept.txt')).toMatchObject({ op: 'modified', kind: 'file' });
  });
});
