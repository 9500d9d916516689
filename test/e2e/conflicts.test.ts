import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

describe('editing the same path on both sides', () => {
  let local: LocalProcess;
  const dir = () => join(local.root, 'shared');

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('shared');
    await local.associate('/shared', 's3://shared/');
  });
  afterAll(async () => {
    await local?.stop();
  });

  const conflictCopies = async () =>
    (await readdir(dir())).filter((name) => name.includes('.conflict-')).sort();

  it('keeps both versions (KEEP_BOTH), and two conflicts on one path keep three versions', async () => {
    const path = join(dir(), 'notes.txt');
    await writeFile(path, 'original');
    await eventually(() =>
      local.s3.send(new HeadObjectCommand({ Bucket: 'shared', Key: 'notes.txt' })).catch(() => undefined),
    );
    await local.settle();

    // Both sides change before bucketlink sees either.
    await writeFile(path, 'edited on the file system, first');
    await local.s3.send(
      new PutObjectCommand({ Bucket: 'shared', Key: 'notes.txt', Body: 'edited in s3, first' }),
    );
    await eventually(async () => (await conflictCopies()).length === 1);
    await local.settle();
    expect(await readFile(path, 'utf8')).toBe('edited in s3, first');

    await writeFile(path, 'edited on the file system, second');
    await local.s3.send(
      new PutObjectCommand({ Bucket: 'shared', Key: 'notes.txt', Body: 'edited in s3, second' }),
    );
    await eventually(async () => (await conflictCopies()).length === 2);
    const status = await local.settle();

    const copies = await conflictCopies();
    const kept = await Promise.all(copies.map((name) => readFile(join(dir(), name), 'utf8')));
    expect(kept.sort()).toEqual(['edited on the file system, first', 'edited on the file system, second']);
    expect(await readFile(path, 'utf8')).toBe('edited in s3, second');
    for (const name of copies) {
      expect(name).toMatch(/^notes\.conflict-\d{8}T\d{6}Z-[A-Za-z0-9-]+-[0-9a-f]{4}\.txt$/);
      // The kept copies are exported too: nothing is lost on either side.
      await eventually(() =>
        local.s3.send(new HeadObjectCommand({ Bucket: 'shared', Key: name })).catch(() => undefined),
      );
    }
    expect(status.conflicts).toBe(2);
  });
});
