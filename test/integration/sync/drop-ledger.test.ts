import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Association } from '../../../src/core/types.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * A path gone from both sides while its ledger row still says "present"
 * (deleted on both sides between two syncs, or a directory whose last child
 * went) is decided `dropLedger`: the row must actually go. It once stayed —
 * apply merged the decision's `null` write with `??` and released the lease
 * instead of deleting the row — so every later event for the path dropped
 * it "again" and reported work done, which the property test's echo feedback
 * turned into an endless stream of events.
 */
describe('a path deleted on both sides', () => {
  let stack: Stack;
  let association: Association;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('gone');
    association = await stack.associate('/gone', 's3://gone/p/');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const item = (path: string) => ({ associationId: association.associationId, path, messageIds: [] });
  const root = () => join(stack.root, 'gone');

  it('has its ledger row dropped once, and a second pass finds nothing to do', async () => {
    await writeFile(join(root(), 'both.txt'), 'content');
    expect((await applyItem(item('both.txt'), stack.applyDeps())).action).toBe('export');
    expect(await stack.adapters.ledger.get(association.associationId, 'both.txt')).toMatchObject({
      state: 'present',
    });
    await unlink(join(root(), 'both.txt'));
    await stack.s3.send(new DeleteObjectCommand({ Bucket: 'gone', Key: 'p/both.txt' }));

    const dropped = await applyItem(item('both.txt'), stack.applyDeps());

    expect(dropped).toMatchObject({ action: 'dropLedger', outcome: 'done', reason: 'both-deleted' });
    expect(await stack.adapters.ledger.get(association.associationId, 'both.txt')).toBeUndefined();
    const again = await applyItem(item('both.txt'), stack.applyDeps('another-worker'));
    expect(again).toMatchObject({ action: 'none', outcome: 'unchanged', reason: 'absent' });
  });

  it('drops the row of a synced directory once it is gone from both sides', async () => {
    await mkdir(join(root(), 'dir/inner'), { recursive: true });
    await writeFile(join(root(), 'dir/inner/f.txt'), 'x');
    for (const path of ['dir/inner/f.txt', 'dir/inner', 'dir'])
      await applyItem({ ...item(path), kindHint: path.endsWith('.txt') ? 'file' : 'dir' }, stack.applyDeps());
    expect(await stack.adapters.ledger.get(association.associationId, 'dir')).toMatchObject({
      kind: 'dir',
      state: 'present',
    });
    await rm(join(root(), 'dir'), { recursive: true });
    await stack.s3.send(new DeleteObjectCommand({ Bucket: 'gone', Key: 'p/dir/inner/f.txt' }));

    expect(await applyItem({ ...item('dir'), kindHint: 'dir' }, stack.applyDeps())).toMatchObject({
      action: 'dropLedger',
      outcome: 'done',
    });
    expect(await stack.adapters.ledger.get(association.associationId, 'dir')).toBeUndefined();
  });
});
