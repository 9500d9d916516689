import { createHash } from 'node:crypto';
import {
  appendFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalFileTree } from '../../../src/adapters/fs.ts';
import { SourceChangedError, SyncError } from '../../../src/core/errors.ts';
import type { FsState } from '../../../src/core/types.ts';

const TEMP_PREFIX = '.bucketlink-tmp-';

let root: string;
const tree = new LocalFileTree({ restoreOwner: false });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'bucketlink-fs-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function tempFilesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith(TEMP_PREFIX));
}

function failingBody(afterBytes: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(Buffer.alloc(afterBytes, 1));
        return;
      }
      this.destroy(new Error('connection dropped mid-download'));
    },
  });
}

async function drain(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('LocalFileTree', () => {
  describe('stat', () => {
    it('reports files with exact nanosecond times and inode numbers as strings', async () => {
      await writeFile(join(root, 'a.txt'), 'hello');
      const state = await tree.stat(root, 'a.txt');
      const raw = await lstat(join(root, 'a.txt'), { bigint: true });
      expect(state).toMatchObject({
        kind: 'file',
        size: 5,
        mtimeNs: raw.mtimeNs.toString(),
        ctimeNs: raw.ctimeNs.toString(),
        ino: raw.ino.toString(),
        mode: Number(raw.mode),
      });
    });

    it('returns undefined for a missing path and for a path under a file', async () => {
      await writeFile(join(root, 'f'), '');
      expect(await tree.stat(root, 'missing')).toBeUndefined();
      expect(await tree.stat(root, 'f/child')).toBeUndefined();
    });

    it('says whether a directory has children, ignoring the sentinel and temp files', async () => {
      await tree.writeSentinel(root, 'dra-1');
      await writeFile(join(root, `${TEMP_PREFIX}x`), '');
      expect((await tree.stat(root, ''))?.hasChildren).toBe(false);
      await mkdir(join(root, 'd'));
      expect((await tree.stat(root, 'd'))?.hasChildren).toBe(false);
      await writeFile(join(root, 'd', 'x'), '');
      expect((await tree.stat(root, 'd'))?.hasChildren).toBe(true);
    });

    it('reports a symlink as the link itself, sized by its target', async () => {
      await symlink('/etc/passwd', join(root, 'link'));
      expect(await tree.stat(root, 'link')).toMatchObject({
        kind: 'symlink',
        linkTarget: '/etc/passwd',
        size: 11,
      });
    });

    it('refuses a path that passes through a symlink', async () => {
      await mkdir(join(root, 'real'));
      await writeFile(join(root, 'real', 'x'), '');
      await symlink(join(root, 'real'), join(root, 'alias'));
      await expect(tree.stat(root, 'alias/x')).rejects.toMatchObject({ code: 'SymlinkInPath' });
    });

    it('refuses paths that are not plain relative paths', async () => {
      for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', './a', 'a\0b']) {
        await expect(tree.stat(root, bad), bad).rejects.toMatchObject({ code: 'InvalidPath' });
      }
    });
  });

  describe('sentinel', () => {
    it('is absent until written, and writing creates the root', async () => {
      const nested = join(root, 'not', 'yet');
      expect(await tree.sentinelPresent(nested)).toBe(false);
      await tree.writeSentinel(nested, 'dra-0123456789abcdef0');
      expect(await tree.sentinelPresent(nested)).toBe(true);
      const content = JSON.parse(await readFile(join(nested, '.bucketlink'), 'utf8'));
      expect(content).toMatchObject({ associationId: 'dra-0123456789abcdef0' });
      expect(typeof content.createdAt).toBe('string');
      expect(await tempFilesIn(nested)).toEqual([]);
    });
  });

  describe('writeFile', () => {
    it('writes atomically with mode and nanosecond mtime (within 1 µs)', async () => {
      const mtimeNs = '1700000000123456789';
      const state = await tree.writeFile(
        root,
        'deep/er/file.bin',
        Readable.from([Buffer.from('payload')]),
        { mode: 0o100640, mtimeNs },
        undefined,
      );
      expect(await readFile(join(root, 'deep/er/file.bin'), 'utf8')).toBe('payload');
      expect(state.kind).toBe('file');
      expect(state.mode & 0o7777).toBe(0o640);
      expect(Math.abs(Number(BigInt(state.mtimeNs) - BigInt(mtimeNs)))).toBeLessThan(1000);
      expect(await tempFilesIn(join(root, 'deep/er'))).toEqual([]);
    });

    it('leaves no temp file and no target when the body fails mid-stream', async () => {
      await expect(tree.writeFile(root, 'broken.bin', failingBody(64 * 1024), {}, undefined)).rejects.toThrow(
        'connection dropped',
      );
      expect(await readdir(root)).toEqual([]);
    });

    it('keeps the old content when the body fails while replacing a file', async () => {
      await writeFile(join(root, 'keep.txt'), 'old');
      const before = await tree.stat(root, 'keep.txt');
      await expect(tree.writeFile(root, 'keep.txt', failingBody(10), {}, before)).rejects.toThrow();
      expect(await readFile(join(root, 'keep.txt'), 'utf8')).toBe('old');
      expect(await tempFilesIn(root)).toEqual([]);
    });

    it('refuses to rename over a file that changed since it was planned', async () => {
      await writeFile(join(root, 'f.txt'), 'v1');
      const planned = (await tree.stat(root, 'f.txt')) as FsState;
      await appendFile(join(root, 'f.txt'), ' and a local edit');
      await expect(
        tree.writeFile(root, 'f.txt', Readable.from(['from s3']), {}, planned),
      ).rejects.toBeInstanceOf(SourceChangedError);
      expect(await readFile(join(root, 'f.txt'), 'utf8')).toBe('v1 and a local edit');
      expect(await tempFilesIn(root)).toEqual([]);
    });

    it('refuses to create a file that appeared since it was planned absent', async () => {
      await writeFile(join(root, 'new.txt'), 'local');
      await expect(
        tree.writeFile(root, 'new.txt', Readable.from(['s3']), {}, undefined),
      ).rejects.toBeInstanceOf(SourceChangedError);
      expect(await readFile(join(root, 'new.txt'), 'utf8')).toBe('local');
    });

    it('replaces a file that still matches the plan', async () => {
      await writeFile(join(root, 'f.txt'), 'v1');
      const planned = (await tree.stat(root, 'f.txt')) as FsState;
      await tree.writeFile(root, 'f.txt', Readable.from(['v2']), {}, planned);
      expect(await readFile(join(root, 'f.txt'), 'utf8')).toBe('v2');
    });

    it('never writes through a symlinked directory', async () => {
      const outside = await mkdtemp(join(tmpdir(), 'bucketlink-outside-'));
      try {
        await symlink(outside, join(root, 'escape'));
        await expect(
          tree.writeFile(root, 'escape/pwned.txt', Readable.from(['x']), {}, undefined),
        ).rejects.toMatchObject({ code: 'SymlinkInPath' });
        await expect(tree.mkdir(root, 'escape/sub', {})).rejects.toMatchObject({ code: 'SymlinkInPath' });
        expect(await readdir(outside)).toEqual([]);
      } finally {
        await rm(outside, { recursive: true, force: true });
      }
    });

    it('refuses a key whose parent is a file on this side', async () => {
      await writeFile(join(root, 'a'), 'file');
      await expect(tree.writeFile(root, 'a/b', Readable.from(['x']), {}, undefined)).rejects.toMatchObject({
        code: 'S3ImportObjectTypeMismatch',
      });
    });
  });

  describe('openForExport', () => {
    it('reads a file and verifies it did not move', async () => {
      await writeFile(join(root, 'f.txt'), 'stable');
      const read = await tree.openForExport(root, 'f.txt');
      expect((await drain(read.body)).toString()).toBe('stable');
      await expect(read.verify()).resolves.toBeUndefined();
      expect(read.before).toMatchObject({ kind: 'file', size: 6 });
    });

    it('detects a file appended to while it was read', async () => {
      const abs = join(root, 'growing.log');
      await writeFile(abs, Buffer.alloc(4 * 1024 * 1024, 7));
      const read = await tree.openForExport(root, 'growing.log');
      let appended = false;
      const sink = new PassThrough();
      sink.resume();
      read.body.on('data', () => {
        if (appended) return;
        appended = true;
        void appendFile(abs, 'more');
      });
      await pipeline(read.body, sink);
      // Let the append land if the read finished first.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await expect(read.verify()).rejects.toBeInstanceOf(SourceChangedError);
    });

    it('reports a file that vanished mid-transfer clearly', async () => {
      const abs = join(root, 'gone.txt');
      await writeFile(abs, 'short-lived');
      const read = await tree.openForExport(root, 'gone.txt');
      await unlink(abs);
      await drain(read.body);
      await expect(read.verify()).rejects.toThrow(/gone\.txt vanished while it was read/);
    });

    it('reports a file that vanished before it was opened', async () => {
      await expect(tree.openForExport(root, 'never.txt')).rejects.toThrow(/never\.txt vanished/);
    });

    it('exports a symlink as its target without reading what it points to', async () => {
      await writeFile(join(root, 'secret'), 'do not read me');
      await symlink('secret', join(root, 'link'));
      const read = await tree.openForExport(root, 'link');
      expect(read.before.kind).toBe('symlink');
      expect((await drain(read.body)).toString()).toBe('secret');
      await read.verify();
      expect(await tree.md5(root, 'link')).toBe(createHash('md5').update('secret').digest('hex'));
    });

    it('exports a directory as an empty body', async () => {
      await mkdir(join(root, 'd'));
      const read = await tree.openForExport(root, 'd');
      expect((await drain(read.body)).length).toBe(0);
      await read.verify();
    });
  });

  describe('symlink and mkdir', () => {
    it('creates and re-points symlinks atomically', async () => {
      const created = await tree.symlink(root, 'l', 'one', undefined);
      expect(created).toMatchObject({ kind: 'symlink', linkTarget: 'one' });
      await expect(tree.symlink(root, 'l', 'two', undefined)).rejects.toBeInstanceOf(SourceChangedError);
      const moved = await tree.symlink(root, 'l', 'two', created);
      expect(moved.linkTarget).toBe('two');
      expect(await tempFilesIn(root)).toEqual([]);
    });

    it('creates directories with the imported mode, unaffected by the umask', async () => {
      const state = await tree.mkdir(root, 'x/y', { mode: 0o040770 });
      expect(state.kind).toBe('dir');
      expect(state.mode & 0o7777).toBe(0o770);
      expect((await stat(join(root, 'x'))).isDirectory()).toBe(true);
    });
  });

  describe('remove', () => {
    it('refuses to delete a file that changed since it was planned', async () => {
      await writeFile(join(root, 'f'), 'v1');
      const planned = (await tree.stat(root, 'f')) as FsState;
      await appendFile(join(root, 'f'), 'v2');
      await expect(tree.remove(root, 'f', planned)).rejects.toBeInstanceOf(SourceChangedError);
      expect(await readFile(join(root, 'f'), 'utf8')).toBe('v1v2');
    });

    it('prunes emptied parents up to, not including, the root', async () => {
      await tree.writeSentinel(root, 'dra-1');
      await mkdir(join(root, 'a/b/c'), { recursive: true });
      await writeFile(join(root, 'a/keep'), '');
      await writeFile(join(root, 'a/b/c/f'), '');
      await tree.remove(root, 'a/b/c/f', (await tree.stat(root, 'a/b/c/f')) as FsState, {
        pruneParents: true,
      });
      expect(await tree.stat(root, 'a/b')).toBeUndefined();
      expect(await tree.stat(root, 'a')).toMatchObject({ kind: 'dir', hasChildren: true });
      await tree.remove(root, 'a/keep', (await tree.stat(root, 'a/keep')) as FsState, { pruneParents: true });
      expect(await tree.stat(root, 'a')).toBeUndefined();
      expect(await tree.sentinelPresent(root)).toBe(true);
    });

    it('leaves a directory that still has children', async () => {
      await mkdir(join(root, 'd'));
      await writeFile(join(root, 'd/x'), '');
      await tree.remove(root, 'd', (await tree.stat(root, 'd')) as FsState);
      expect(await readdir(join(root, 'd'))).toEqual(['x']);
    });

    it('unlinks a symlink, never its target', async () => {
      await writeFile(join(root, 'target'), 'keep');
      await symlink('target', join(root, 'l'));
      await tree.remove(root, 'l', (await tree.stat(root, 'l')) as FsState);
      expect(await readFile(join(root, 'target'), 'utf8')).toBe('keep');
      expect(await tree.stat(root, 'l')).toBeUndefined();
    });
  });

  describe('preserve', () => {
    it('keeps the current file under the conflict name and never overwrites one', async () => {
      await writeFile(join(root, 'doc.txt'), 'local version');
      await tree.preserve(root, 'doc.txt', 'doc.conflict-1.txt');
      // The caller then replaces the original by rename, which leaves the preserved inode alone.
      const current = (await tree.stat(root, 'doc.txt')) as FsState;
      await tree.writeFile(root, 'doc.txt', Readable.from(['from s3']), {}, current);
      expect(await readFile(join(root, 'doc.conflict-1.txt'), 'utf8')).toBe('local version');
      await writeFile(join(root, 'doc.txt'), 'second local version');
      const second = tree.preserve(root, 'doc.txt', 'doc.conflict-1.txt');
      await expect(second).rejects.toMatchObject({ code: 'EEXIST' });
      expect(await readFile(join(root, 'doc.conflict-1.txt'), 'utf8')).toBe('local version');
    });
  });

  describe('preserve of a symlink', () => {
    it('keeps the link itself, not what it points to', async () => {
      await symlink('elsewhere', join(root, 'l'));
      await tree.preserve(root, 'l', 'l.conflict');
      expect(await tree.stat(root, 'l.conflict')).toMatchObject({ kind: 'symlink', linkTarget: 'elsewhere' });
    });
  });

  describe('walk', () => {
    it('pages depth-first, parents first, skipping the sentinel, temp files and symlink targets', async () => {
      await tree.writeSentinel(root, 'dra-1');
      await mkdir(join(root, 'big'));
      for (let i = 0; i < 1500; i++) await writeFile(join(root, 'big', `f${i}`), '');
      await mkdir(join(root, 'empty'));
      await writeFile(join(root, `${TEMP_PREFIX}abc`), '');
      await writeFile(join(root, 'big', `${TEMP_PREFIX}def`), '');
      const outside = await mkdtemp(join(tmpdir(), 'bucketlink-walk-out-'));
      await writeFile(join(outside, 'not-mine'), '');
      await symlink(outside, join(root, 'link'));

      const pages: number[] = [];
      const seen: Array<{ path: string; state: FsState }> = [];
      for await (const page of tree.walk(root)) {
        pages.push(page.length);
        seen.push(...page);
      }
      await rm(outside, { recursive: true, force: true });

      expect(pages.every((size) => size <= 1000)).toBe(true);
      expect(seen).toHaveLength(1503);
      const paths = seen.map((entry) => entry.path);
      expect(paths.some((path) => path.includes('.bucketlink'))).toBe(false);
      expect(paths.some((path) => path.includes('not-mine'))).toBe(false);
      expect(paths.indexOf('big')).toBeLessThan(paths.indexOf('big/f0'));
      expect(seen.find((entry) => entry.path === 'big')?.state.hasChildren).toBe(true);
      expect(seen.find((entry) => entry.path === 'empty')?.state.hasChildren).toBe(false);
      expect(seen.find((entry) => entry.path === 'link')?.state.kind).toBe('symlink');
    });

    it('throws instead of listing nothing when the root is missing', async () => {
      const iterate = async () => {
        for await (const _ of tree.walk(join(root, 'absent'))) {
          // nothing
        }
      };
      await expect(iterate()).rejects.toBeInstanceOf(SyncError);
    });
  });

  describe('md5', () => {
    it('hashes file content as a stream', async () => {
      await writeFile(join(root, 'f'), 'abc');
      expect(await tree.md5(root, 'f')).toBe('900150983cd24fb0d6963f7d28e17f72');
    });
  });
});
