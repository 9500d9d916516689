import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import type { ObjectStore } from '../../../src/adapters/ports.ts';
import { S3ObjectStore } from '../../../src/adapters/s3.ts';
import { ConditionalWrites } from '../../../src/adapters/s3-conditions.ts';
import type { Association } from '../../../src/core/types.ts';
import { startS3Server } from '../../../src/local/peers.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import { startMoto } from '../../support/external-peers.ts';
import { type Stack, startStack } from '../../support/stack.ts';

const moto = await startMoto();

/** A store whose next PUT of `key` is preceded by another writer's PUT: the race between decide and write. */
function racedStore(
  store: ObjectStore,
  stack: Stack,
  bucket: string,
  key: string,
  body: string,
): ObjectStore {
  let raced = false;
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name !== 'put') return Reflect.get(target, name, receiver).bind(target);
      return async (...args: Parameters<ObjectStore['put']>) => {
        if (!raced && args[1] === key) {
          raced = true;
          await stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        }
        return target.put(...args);
      };
    },
  });
}

describe.skipIf(!moto)('conditional writes and versioning (moto)', () => {
  let stack: Stack;
  let association: Association;
  const item = (path: string) => ({ associationId: association.associationId, path, messageIds: [] });
  const file = (path: string) => join(stack.root, 'cond', path);
  const objectBody = async (key: string, bucket = 'cond') => {
    const object = await stack.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return object.Body!.transformToString();
  };

  beforeAll(async () => {
    stack = await startStack({ external: moto! });
    await stack.createBucket('cond');
    association = await stack.associate('/cond', 's3://cond/');
  });
  afterAll(async () => {
    await moto?.close();
  });

  it('a new file never overwrites an object another writer created between decide and write', async () => {
    await writeFile(file('new.txt'), 'mine');
    const deps = stack.applyDeps();
    const result = await applyItem(item('new.txt'), {
      ...deps,
      store: racedStore(deps.store, stack, 'cond', 'new.txt', 'theirs'),
    });
    // Re-planned, not failed: both sides are new and differ, so both are kept.
    expect(result.outcome).toBe('done');
    expect(result.conflict).toBe(true);
    expect(await objectBody('new.txt')).toBe('theirs');
    expect(await readFile(file('new.txt'), 'utf8')).toBe('theirs');
    const copies = (await readdir(join(stack.root, 'cond'))).filter(
      (n) => n.startsWith('new') && n.includes('.conflict-'),
    );
    expect(copies).toHaveLength(1);
    expect(await readFile(file(copies[0]!), 'utf8')).toBe('mine');
    expect(await objectBody(copies[0]!)).toBe('mine');
  });

  it('an overwrite never replaces an object another writer changed between decide and write', async () => {
    await writeFile(file('shared.txt'), 'v1');
    expect((await applyItem(item('shared.txt'), stack.applyDeps())).action).toBe('export');
    await writeFile(file('shared.txt'), 'v2 from the file system');
    const deps = stack.applyDeps();
    const result = await applyItem(item('shared.txt'), {
      ...deps,
      store: racedStore(deps.store, stack, 'cond', 'shared.txt', 'v2 from another writer'),
    });
    expect(result.conflict).toBe(true);
    expect(await objectBody('shared.txt')).toBe('v2 from another writer');
    const copies = (await readdir(join(stack.root, 'cond'))).filter(
      (n) => n.startsWith('shared') && n.includes('.conflict-'),
    );
    expect(copies, JSON.stringify(await readdir(join(stack.root, 'cond')))).toHaveLength(1);
    expect(await readFile(file(copies[0]!), 'utf8')).toBe('v2 from the file system');
  });

  it('probes once per bucket: moto honours the conditions, s3rver ignores them and keeps no probe object', async () => {
    expect(await new ConditionalWrites(stack.s3).supported('cond')).toBe(true);
    const directory = await mkdtemp(join(tmpdir(), 'bucketlink-probe-'));
    const s3rver = await startS3Server({ directory });
    try {
      const client = createS3Client({ endpoint: s3rver.endpoint });
      await client.send(new CreateBucketCommand({ Bucket: 'plain' }));
      expect(await new ConditionalWrites(client).supported('plain')).toBe(false);
      const probe = await client
        .send(new HeadObjectCommand({ Bucket: 'plain', Key: '.bucketlink' }))
        .catch((error: Error) => error.name);
      expect(probe).toBe('NotFound');
      // The store still uploads (without conditions) where they are ignored.
      const store = new S3ObjectStore({ client });
      await store.put('plain', 'a.txt', 'body', { size: 4, metadata: {}, ifNoneMatch: '*' });
      await store.put('plain', 'a.txt', 'body 2', { size: 6, metadata: {}, ifNoneMatch: '*' });
    } finally {
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('on a versioned bucket records version ids, and a delete marker reads as a delete', async () => {
    await stack.createBucket('versioned');
    await stack.s3.send(
      new PutBucketVersioningCommand({ Bucket: 'versioned', VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const versioned = await stack.associate('/versioned', 's3://versioned/');
    const at = (path: string) => ({ associationId: versioned.associationId, path, messageIds: [] });
    await writeFile(join(stack.root, 'versioned', 'kept.txt'), 'exported');
    expect((await applyItem(at('kept.txt'), stack.applyDeps())).action).toBe('export');
    const exported = await stack.adapters.ledger.get(versioned.associationId, 'kept.txt');
    const head = await stack.s3.send(new HeadObjectCommand({ Bucket: 'versioned', Key: 'kept.txt' }));
    expect(exported?.s3?.versionId).toBe(head.VersionId);
    expect(exported?.s3?.versionId).toBeTruthy();

    await stack.s3.send(new PutObjectCommand({ Bucket: 'versioned', Key: 'imported.txt', Body: 'from s3' }));
    expect((await applyItem(at('imported.txt'), stack.applyDeps())).action).toBe('import');
    const imported = await stack.adapters.ledger.get(versioned.associationId, 'imported.txt');
    expect(imported?.s3?.versionId).toBeTruthy();

    // A plain DELETE on a versioned bucket leaves a delete marker; the older version still exists.
    const marker = await stack.s3.send(new DeleteObjectCommand({ Bucket: 'versioned', Key: 'kept.txt' }));
    expect(marker.DeleteMarker).toBe(true);
    expect((await applyItem(at('kept.txt'), stack.applyDeps())).action).toBe('deleteFile');
    expect(existsSync(join(stack.root, 'versioned', 'kept.txt'))).toBe(false);
  });
});
