import { chmod, mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sequence } from '../../../src/agent/coalesce.ts';
import { loadScanState, saveScanState, scanTree } from '../../../src/agent/scan.ts';

describe('scanTree', () => {
  let root: string;
  const nextSeq = sequence();
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'bucketlink-scan-'));
    await mkdir(join(root, 'd'));
    await writeFile(join(root, 'd', 'a.txt'), 'a');
    await writeFile(join(root, 'keep.txt'), 'k');
    await writeFile(join(root, '.bucketlink'), 'sentinel');
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const shape = (changes: Array<{ path: string; op: string }>) =>
    changes.map(({ path, op }) => ({ path, op })).sort((a, b) => a.path.localeCompare(b.path));

  it('records a baseline without reporting anything on the first scan', async () => {
    const { changes, state } = await scanTree(root, undefined, nextSeq);
    expect(changes).toEqual([]);
    expect([...state.keys()].sort()).toEqual(['/d', '/d/a.txt', '/keep.txt']);
  });

  it('finds what "changed since mtime" misses: mv, an extracted old file, chmod and a delete', async () => {
    const { state } = await scanTree(root, undefined, nextSeq);
    await rename(join(root, 'd', 'a.txt'), join(root, 'd', 'moved.txt'));
    // tar x restores an old mtime: only the new inode and ctime give it away.
    await writeFile(join(root, 'old.txt'), 'from a tarball');
    await utimes(join(root, 'old.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    await chmod(join(root, 'keep.txt'), 0o600);
    const { changes } = await scanTree(root, state, nextSeq);
    expect(shape(changes)).toEqual([
      { path: '/d/a.txt', op: 'deleted' },
      { path: '/d/moved.txt', op: 'created' },
      { path: '/keep.txt', op: 'attrib' },
      { path: '/old.txt', op: 'created' },
    ]);
    const moved = changes.find((c) => c.path === '/d/moved.txt')!;
    expect(moved).toMatchObject({ kind: 'file', size: 1 });
    expect(moved.ino).toMatch(/^\d+$/);
  });

  it('keeps its state across restarts', async () => {
    const { state } = await scanTree(root, undefined, nextSeq);
    const path = join(root, '..', `${root.split('/').pop()}-state.json`);
    await saveScanState(path, state);
    expect(await loadScanState(path)).toEqual(state);
    expect(await loadScanState(`${path}.missing`)).toBeUndefined();
    await rm(path);
  });
});
