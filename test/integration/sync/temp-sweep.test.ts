import { lstat, mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalFileTree } from '../../../src/adapters/fs.ts';
import type { Association } from '../../../src/core/types.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { taskHarness } from '../tasks/harness.ts';

/**
 * A killed import leaves its temp file (`.bucketlink-tmp-*`) beside the
 * target. The walks RECONCILE runs never list such files and remove those
 * older than the grace period (1 hour by default; the age is by mtime, and
 * the clock and period are injectable), so they do not stay forever.
 */
const HOUR = 3600_000;
const exists = (path: string) =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** Sets a file's mtime `ms` into the past (utimes follows links: files only). */
async function age(path: string, ms: number) {
  const when = (Date.now() - ms) / 1000;
  await utimes(path, when, when);
}

describe('temp files left by a killed import', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('are removed by the walk once older than the grace period, and never listed', async () => {
    const root = join(stack.root, 'walked');
    await mkdir(join(root, 'sub/.bucketlink-tmp-dir'), { recursive: true });
    const stale = [join(root, '.bucketlink-tmp-0123456789abcdef'), join(root, 'sub/.bucketlink-tmp-feed')];
    const fresh = join(root, 'sub/.bucketlink-tmp-inflight');
    for (const path of [...stale, fresh]) await writeFile(path, 'half an import');
    for (const path of stale) await age(path, 2 * HOUR);
    await symlink('target', join(root, 'sub/.bucketlink-tmp-link'));
    await writeFile(join(root, 'sub/bucketlink-tmp-not-ours.txt'), 'a user file');

    const tree = new LocalFileTree();
    const listed: string[] = [];
    for await (const page of tree.walk(root)) listed.push(...page.map((entry) => entry.path));

    expect(listed.sort()).toEqual(['sub', 'sub/bucketlink-tmp-not-ours.txt']);
    for (const path of stale) expect(await exists(path), path).toBe(false);
    expect(await exists(fresh)).toBe(true);
    // A symlink made just now is in flight too; a directory is never ours to remove.
    expect(await exists(join(root, 'sub/.bucketlink-tmp-link'))).toBe(true);
    expect(await exists(join(root, 'sub/.bucketlink-tmp-dir'))).toBe(true);

    // With the clock two hours on (or a shorter grace period), the in-flight ones are stale too.
    const later = new LocalFileTree({ now: () => Date.now() + 2 * HOUR });
    for await (const _ of later.walk(root));
    expect(await exists(fresh)).toBe(false);
    expect(await exists(join(root, 'sub/.bucketlink-tmp-link'))).toBe(false);
    await writeFile(fresh, 'another import');
    for await (const _ of new LocalFileTree({ tempGraceMs: HOUR * 10 }).walk(root));
    expect(await exists(fresh)).toBe(true);
    expect((await readdir(join(root, 'sub'))).sort()).toEqual([
      '.bucketlink-tmp-dir',
      '.bucketlink-tmp-inflight',
      'bucketlink-tmp-not-ours.txt',
    ]);
  });

  it('are removed by a RECONCILE task, never exported, and a fresh one is left alone', async () => {
    await stack.createBucket('swept');
    const association: Association = await stack.associate('/swept', 's3://swept/data/', {
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'swept');
    await mkdir(join(root, 'deep/er'), { recursive: true });
    await writeFile(join(root, 'deep/er/real.txt'), 'real');
    const stale = join(root, 'deep/er/.bucketlink-tmp-killed');
    const fresh = join(root, 'deep/.bucketlink-tmp-running');
    await writeFile(stale, 'half an import');
    await age(stale, 2 * HOUR);
    await writeFile(fresh, 'an import in flight');
    const tasks = await taskHarness(stack);

    const task = await tasks.run({ type: 'RECONCILE', associationId: association.associationId });

    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(await exists(stale)).toBe(false);
    expect(await exists(fresh)).toBe(true);
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: 'swept' }));
    expect((listed.Contents ?? []).map((object) => object.Key)).toEqual(['data/deep/er/real.txt']);
    const rows: string[] = [];
    for await (const page of stack.adapters.ledger.list(association.associationId))
      rows.push(...page.map((row) => row.path));
    expect(rows.filter((path) => path.includes('bucketlink-tmp-'))).toEqual([]);
  }, 120_000);
});
