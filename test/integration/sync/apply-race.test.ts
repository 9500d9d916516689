import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Association } from '../../../src/core/types.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import { type Stack, startStack } from '../../support/stack.ts';

describe('apply racing itself on one path', () => {
  let stack: Stack;
  let association: Association;

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('race');
    association = await stack.associate('/race', 's3://race/');
  });
  afterAll(async () => {
    await stack?.close();
  });

  const item = (path: string) => ({ associationId: association.associationId, path, messageIds: [] });

  it.each([2, 8])('transfers a new file once when %i workers apply it at the same time', async (workers) => {
    const path = `export-${workers}.txt`;
    await writeFile(join(stack.root, 'race', path), 'content');
    const results = await Promise.all(
      Array.from({ length: workers }, (_, i) => applyItem(item(path), stack.applyDeps(`worker-${i}`))),
    );
    const transfers = results.filter((r) => r.outcome === 'done');
    expect(transfers).toHaveLength(1);
    expect(transfers[0]!.action).toBe('export');
    expect(results.every((r) => ['done', 'deferred', 'unchanged'].includes(r.outcome))).toBe(true);
    // Once settled, nobody finds anything left to do.
    expect((await applyItem(item(path), stack.applyDeps('late'))).outcome).toBe('unchanged');
  });

  it('imports a new object once, with no spurious conflict copy, when two workers race', async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: 'race', Key: 'import.txt', Body: 'from s3' }));
    const results = await Promise.all([
      applyItem(item('import.txt'), stack.applyDeps('worker-a')),
      applyItem(item('import.txt'), stack.applyDeps('worker-b')),
    ]);
    expect(results.filter((r) => r.outcome === 'done')).toHaveLength(1);
    expect(results.some((r) => r.conflict)).toBe(false);
    expect((await readdir(join(stack.root, 'race'))).filter((name) => name.includes('.conflict-'))).toEqual(
      [],
    );
    expect(stack.conflicts).toEqual([]);
  });

  it('re-plans when a second worker asked while the first held the lease', async () => {
    const path = 'changed-mid-flight.txt';
    const file = join(stack.root, 'race', path);
    await writeFile(file, 'v1');
    const deps = stack.applyDeps('holder');
    // The holder's export is followed by a change and a second worker's request;
    // the holder must pick the change up before it lets go.
    const store = deps.store;
    let changed = false;
    const slowStore = {
      ...store,
      stat: store.stat.bind(store),
      head: store.head.bind(store),
      get: store.get.bind(store),
      delete: store.delete.bind(store),
      list: store.list.bind(store),
      bucketExists: store.bucketExists.bind(store),
      put: async (...args: Parameters<typeof store.put>) => {
        const result = await store.put(...args);
        if (!changed) {
          changed = true;
          await writeFile(file, 'v2, written while v1 was uploading');
          const second = await applyItem(item(path), stack.applyDeps('second'));
          expect(second.outcome).toBe('deferred');
        }
        return result;
      },
    };
    await applyItem(item(path), { ...deps, store: slowStore });
    const object = await stack.adapters.store.get('race', path);
    const body = Buffer.concat(await object.body.toArray()).toString();
    expect(body).toBe('v2, written while v1 was uploading');
  });
});
