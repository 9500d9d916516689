import { randomUUID } from 'node:crypto';
import { appendFile, link, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import { changeEvent } from '../../../src/agent/coalesce.ts';
import type { FileSystemChange } from '../../../src/core/events.ts';
import type { Association } from '../../../src/core/types.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import { planBatch } from '../../../src/sync/plan.ts';
import { type Stack, startStack } from '../../support/stack.ts';

describe('renames: plan pairs them, apply copies server-side', () => {
  let stack: Stack;
  let association: Association;
  const dir = () => join(stack.root, 'ren');
  const s3 = () => createS3Client({ endpoint: stack.config.s3Endpoint });
  const object = (key: string) =>
    s3()
      .send(new GetObjectCommand({ Bucket: 'ren', Key: key }))
      .then(
        (o) => o.Body!.transformToString(),
        () => undefined,
      );
  const item = (path: string, renamedFrom?: string) => ({
    associationId: association.associationId,
    path,
    messageIds: [],
    ...(renamedFrom ? { renamedFrom } : {}),
  });
  const ino = async (name: string) => (await stat(join(dir(), name), { bigint: true })).ino.toString();

  async function exported(name: string, body: string) {
    await writeFile(join(dir(), name), body);
    const result = await applyItem(item(name), stack.applyDeps());
    expect(result).toMatchObject({ action: 'export', outcome: 'done' });
  }

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('ren');
    association = await stack.associate('/ren', 's3://ren/');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('pairs a delete and a create of the same inode through the ledger and moves the object', async () => {
    await exported('a.txt', 'alpha');
    await rename(join(dir(), 'a.txt'), join(dir(), 'b.txt'));
    const changes: FileSystemChange[] = [
      { path: '/ren/a.txt', op: 'deleted', seq: 1 },
      { path: '/ren/b.txt', op: 'created', kind: 'file', ino: await ino('b.txt'), size: 5, seq: 2 },
    ];
    const plan = await planBatch(
      [{ messageId: randomUUID(), body: JSON.stringify(changeEvent('h', changes)) }],
      stack.planDeps,
    );
    expect(plan.items).toEqual([expect.objectContaining({ path: 'b.txt', renamedFrom: 'a.txt' })]);

    const result = await applyItem(plan.items[0]!, stack.applyDeps());
    expect(result).toMatchObject({ action: 'rename', outcome: 'done', bytes: 0 });
    expect(await object('b.txt')).toBe('alpha');
    expect(await object('a.txt')).toBeUndefined();
    const head = await s3().send(new HeadObjectCommand({ Bucket: 'ren', Key: 'b.txt' }));
    expect(head.Metadata?.['user-agent']).toBe('bucketlink');
    expect(await stack.adapters.ledger.get(association.associationId, 'a.txt')).toMatchObject({
      state: 'deleted',
    });
    expect(await stack.adapters.ledger.get(association.associationId, 'b.txt')).toMatchObject({
      state: 'present',
    });
    // The moved path is in sync: applying it again does nothing.
    expect(await applyItem(item('b.txt'), stack.applyDeps())).toMatchObject({ outcome: 'unchanged' });
  });

  it('takes an agent `renamed` change straight to one rename item', async () => {
    const changes: FileSystemChange[] = [
      { path: '/ren/y.txt', op: 'renamed', oldPath: '/ren/x.txt', kind: 'file', seq: 3 },
    ];
    const plan = await planBatch(
      [{ messageId: randomUUID(), body: JSON.stringify(changeEvent('h', changes)) }],
      stack.planDeps,
    );
    expect(plan.items).toEqual([expect.objectContaining({ path: 'y.txt', renamedFrom: 'x.txt' })]);
  });

  it('treats a create whose inode is still at its old path as a hard link, not a rename', async () => {
    await exported('h.txt', 'hard');
    await link(join(dir(), 'h.txt'), join(dir(), 'h2.txt'));
    const plan = await planBatch(
      [
        {
          messageId: randomUUID(),
          body: JSON.stringify(
            changeEvent('h', [
              { path: '/ren/other.txt', op: 'deleted', seq: 4 },
              { path: '/ren/h2.txt', op: 'created', kind: 'file', ino: await ino('h2.txt'), seq: 5 },
            ]),
          ),
        },
      ],
      stack.planDeps,
    );
    expect(plan.items.find((i) => i.path === 'h2.txt')?.renamedFrom).toBeUndefined();
    // Even told it is a rename, apply sees the old path still there and exports instead.
    const result = await applyItem(item('h2.txt', 'h.txt'), stack.applyDeps());
    expect(result).toMatchObject({ action: 'export', outcome: 'done' });
    expect(await object('h.txt')).toBe('hard');
    expect(await object('h2.txt')).toBe('hard');
  });

  it('falls back to export + delete when the file changed since its last sync', async () => {
    await exported('c.txt', 'v1');
    await rename(join(dir(), 'c.txt'), join(dir(), 'd.txt'));
    await appendFile(join(dir(), 'd.txt'), ' and v2');
    const result = await applyItem(item('d.txt', 'c.txt'), stack.applyDeps());
    expect(result).toMatchObject({ action: 'export', outcome: 'done' });
    expect(await object('d.txt')).toBe('v1 and v2');
    expect(await object('c.txt')).toBeUndefined();
  });
});
