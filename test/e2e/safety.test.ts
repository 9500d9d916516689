import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

describe('a root that looks unmounted', () => {
  let local: LocalProcess;

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('precious');
    await local.associate('/precious', 's3://precious/');
  });
  afterAll(async () => {
    await local?.stop();
  });

  const keys = async () =>
    ((await local.s3.send(new ListObjectsV2Command({ Bucket: 'precious' }))).Contents ?? [])
      .map((o) => o.Key)
      .sort();

  it('deletes no objects when the .bucketlink sentinel is gone and the root is emptied', async () => {
    const dir = join(local.root, 'precious');
    for (const name of ['a.txt', 'b.txt', 'c.txt']) await writeFile(join(dir, name), name);
    await eventually(async () => (await keys()).length === 3);
    await local.settle();

    await rm(join(dir, '.bucketlink'));
    for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true });
    const status = await local.settle();

    expect(await keys()).toEqual(['a.txt', 'b.txt', 'c.txt']);
    expect(status.transfers.objectDeletes).toBe(0);
    expect(status.problems.some((p) => p.code === 'RootUnmounted')).toBe(true);
  });
});
