import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/clients.ts';
import { startS3Server } from '../../src/local/peers.ts';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

describe('changes made while bucketlink local was stopped', () => {
  let local: LocalProcess;
  const dir = () => join(local.root, 'offline');
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('offline');
    await local.associate('/offline', 's3://offline/');
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('converge when it starts again', async () => {
    await writeFile(join(dir(), 'fs-edit.txt'), 'v1');
    await writeFile(join(dir(), 'fs-delete.txt'), 'v1');
    await local.s3.send(new PutObjectCommand({ Bucket: 'offline', Key: 's3-edit.txt', Body: 'v1' }));
    await local.s3.send(new PutObjectCommand({ Bucket: 'offline', Key: 's3-delete.txt', Body: 'v1' }));
    await eventually(() => exists(join(dir(), 's3-delete.txt')));
    await eventually(() => local.s3.send(new HeadObjectCommand({ Bucket: 'offline', Key: 'fs-delete.txt' })));
    await local.settle();
    await local.stop();

    // The file system changes while nothing watches it.
    await writeFile(join(dir(), 'fs-edit.txt'), 'v2 from the file system');
    await writeFile(join(dir(), 'fs-new.txt'), 'new on the file system');
    await rm(join(dir(), 'fs-delete.txt'));
    // S3 changes too: the same object store, served by a plain s3rver meanwhile.
    const s3rver = await startS3Server({ directory: join(local.state, 's3') });
    const s3 = createS3Client({ endpoint: s3rver.endpoint });
    await s3.send(new PutObjectCommand({ Bucket: 'offline', Key: 's3-edit.txt', Body: 'v2 from s3' }));
    await s3.send(new PutObjectCommand({ Bucket: 'offline', Key: 's3-new.txt', Body: 'new in s3' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'offline', Key: 's3-delete.txt' }));
    await s3rver.close();

    await local.restart();
    await local.settle();

    const object = async (key: string) =>
      local.s3.send(new GetObjectCommand({ Bucket: 'offline', Key: key })).then(
        async (o) => o.Body!.transformToString(),
        () => undefined,
      );
    expect(await object('fs-edit.txt')).toBe('v2 from the file system');
    expect(await object('fs-new.txt')).toBe('new on the file system');
    expect(await object('fs-delete.txt')).toBeUndefined();
    expect(await readFile(join(dir(), 's3-edit.txt'), 'utf8')).toBe('v2 from s3');
    expect(await readFile(join(dir(), 's3-new.txt'), 'utf8')).toBe('new in s3');
    expect(await exists(join(dir(), 's3-delete.txt'))).toBe(false);
  });
});
