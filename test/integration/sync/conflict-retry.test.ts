import { readdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Association } from '../../../src/core/types.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import type { ApplyDeps } from '../../../src/sync/deps.ts';
import { Crash } from '../../support/faults.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * KEEP_BOTH retried: the file-system version is kept under a conflict name
 * first, then the object is imported over the path. When the import fails
 * after the copy was made (S3 503 or a reset on the GET, a worker dying) the
 * item is retried, still a conflict, and must find the copy it already made
 * instead of making another: one conflict, one copy. (The soak found two
 * copies of a symlink after a reset on the GET: seed -525347999, case 10.)
 */
describe('a KEEP_BOTH conflict whose import fails after the copy was made', () => {
  let stack: Stack;
  let association: Association;
  const root = () => join(stack.root, 'kept');

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('kept');
    association = await stack.associate('/kept', 's3://kept/p/');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it.each([
    ['a file', 'doc.txt', 'the file-system version', 's3 version', '0100644'],
    ['a symlink', 'link', 'fs-target', 's3-target', '0120777'],
  ])('keeps one copy of %s when retried', async (_what, path, fsSide, s3Side, mode) => {
    if (mode === '0120777') await symlink(fsSide, join(root(), path));
    else await writeFile(join(root(), path), fsSide);
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: 'kept',
        Key: `p/${path}`,
        Body: s3Side,
        Metadata: { 'file-permissions': mode },
      }),
    );
    const item = { associationId: association.associationId, path, messageIds: [] };
    const conflictsBefore = stack.conflicts.length;

    // The import's GET fails once the copy is made; the lease is released, the item retried.
    const crash = new Crash({ port: 'store', method: 'get', at: 'before' });
    const failing: ApplyDeps = {
      ...stack.applyDeps('first'),
      store: crash.wrap('store', stack.adapters.store),
    };
    await expect(applyItem(item, failing)).rejects.toThrow(/injected crash/);
    expect(crash.fired).toBe(true);
    const retried = await applyItem(item, stack.applyDeps('second'));

    expect(retried).toMatchObject({ action: 'keepBoth', outcome: 'done', conflict: true });
    const copies = (await readdir(root())).filter(
      (name) => name.includes('.conflict-') && name.startsWith(path.split('.')[0]!),
    );
    expect(copies).toHaveLength(1);
    const read = mode === '0120777' ? readlink : (p: string) => readFile(p, 'utf8');
    expect(await read(join(root(), copies[0]!))).toBe(fsSide);
    expect(await read(join(root(), path))).toBe(s3Side);
    const listed = await stack.s3.send(
      new ListObjectsV2Command({ Bucket: 'kept', Prefix: `p/${path.split('.')[0]}` }),
    );
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([`p/${copies[0]}`, `p/${path}`].sort());
    const copy = await stack.s3.send(new GetObjectCommand({ Bucket: 'kept', Key: `p/${copies[0]}` }));
    expect(await copy.Body!.transformToString()).toBe(fsSide);
    expect(stack.conflicts.slice(conflictsBefore)).toEqual([
      expect.objectContaining({ path, resolution: 'keepBoth', keptAs: copies[0] }),
    ]);
  });
});
