import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

const FIXTURES = new URL('../fixtures/lustre/', import.meta.url).pathname;

/**
 * `bucketlink local --lustre-mdt`: one process on a Lustre client, its file
 * changes from the MDT's changelog (the recorded one, replayed by the fake
 * `lfs` the agent's tests use) instead of inotify.
 */
describe('bucketlink local --lustre-mdt', () => {
  let local: LocalProcess;
  let lfsState: string;

  beforeAll(async () => {
    const base = await mkdtemp(join(tmpdir(), 'bucketlink-lustre-local-'));
    const root = join(base, 'mnt');
    lfsState = join(base, 'lfs');
    await mkdir(join(root, 'pics'), { recursive: true });
    await mkdir(lfsState);
    // An empty changelog at start; the recorded one appears after the association exists.
    await writeFile(join(lfsState, 'changelog.txt'), '');
    await copyFile(join(FIXTURES, 'fids.tsv'), join(lfsState, 'fids.tsv'));
    await writeFile(join(root, 'pics', 'chloe.jpg'), 'jpeg');
    await writeFile(join(root, 'pics', 'new name.txt'), 'renamed');
    await writeFile(join(root, 'pics', 'big.bin'), 'big');
    local = await LocalProcess.start(
      { root, state: join(base, 'state') },
      {
        args: ['--lustre-mdt', 'lustre-MDT0000', '--changelog-user', 'cl1', '--lfs', join(FIXTURES, 'lfs')],
        env: { FAKE_LFS_DIR: lfsState },
      },
    );
    await local.createBucket('pics');
    await local.associate('/pics', 's3://pics/', '--no-batch-import-meta-data-on-create');
  });

  afterAll(async () => {
    await local?.stop();
  });

  it('exports what the changelog reports, and clears the records it read', async () => {
    // Not in the changelog: with inotify it would be exported, here nobody reports it.
    await writeFile(join(local.root, 'pics', 'unreported.txt'), 'no record');
    await copyFile(join(FIXTURES, 'changelog.txt'), join(lfsState, 'changelog.txt'));
    const body = await eventually(async () => {
      const object = await local.s3.send(new GetObjectCommand({ Bucket: 'pics', Key: 'chloe.jpg' }));
      return object.Body!.transformToString();
    });
    expect(body).toBe('jpeg');
    await eventually(() => local.s3.send(new HeadObjectCommand({ Bucket: 'pics', Key: 'new name.txt' })));
    await eventually(() => local.s3.send(new HeadObjectCommand({ Bucket: 'pics', Key: 'big.bin' })));
    await local.settle();
    expect(
      await local.s3
        .send(new HeadObjectCommand({ Bucket: 'pics', Key: 'unreported.txt' }))
        .catch((e) => e.name),
    ).toBe('NotFound');
    expect((await readFile(join(lfsState, 'clear.log'), 'utf8')).trim()).toBe('lustre-MDT0000 cl1 17');
  });
});
