import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/clients.ts';
import { eventually, LocalProcess, type Status, tempDirs } from '../support/bucketlink.ts';
import { chainEnv, eventsSetup, startMoto } from '../support/external-peers.ts';

const moto = await startMoto();

/**
 * Two `bucketlink local` runtimes on one shared root (two hosts mounting one
 * file system), one SQS queue and one DynamoDB ledger, all on moto: SQS
 * spreads the messages, the ledger's leases keep the two off each other's
 * paths, and both watchers see every file change.
 */
describe.skipIf(!moto)('two hosts, one root, one queue, one ledger', () => {
  const hosts: LocalProcess[] = [];
  let root: string;
  const s3 = () => createS3Client({ endpoint: moto!.endpoint });
  const file = (name: string) => join(root, 'shared', name);
  const total = (statuses: Status[], field: keyof Status['transfers']) =>
    statuses.reduce((sum, status) => sum + status.transfers[field], 0);
  const settleBoth = async () => {
    await eventually(async () => {
      const statuses = await Promise.all(hosts.map((host) => host.status()));
      return statuses.every((status) => status.idle);
    });
    return Promise.all(hosts.map((host) => host.settle()));
  };

  beforeAll(async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'shared' }));
    const made = await eventsSetup(
      moto!.endpoint,
      '--queue',
      'two-hosts',
      '--visibility-timeout',
      '10',
      '--bucket',
      'shared',
      '--shape',
      'notification',
    );
    expect(made.code, made.stderr).toBe(0);
    const { queueUrl } = JSON.parse(made.stdout);
    const dirs = await tempDirs();
    root = dirs.root;
    const args = [
      '--s3-endpoint',
      moto!.endpoint,
      '--events-queue',
      queueUrl,
      '--ledger',
      'dynamodb:two-hosts-ledger',
      '--dynamodb-endpoint',
      moto!.endpoint,
    ];
    const extra = { args, env: chainEnv('test', 'test'), s3: s3() };
    hosts.push(await LocalProcess.start(dirs, extra));
    await hosts[0]!.associate('/shared', 's3://shared/');
    hosts.push(await LocalProcess.start({ root, state: `${dirs.state}-b` }, extra));
    // The second host reads the association from the shared table.
    const described = JSON.parse((await hosts[1]!.cli('associations', 'describe')).stdout);
    expect(described.associations.map((a: { fileSystemPath: string }) => a.fileSystemPath)).toEqual([
      '/shared',
    ]);
    await settleBoth();
  }, 180_000);

  afterAll(async () => {
    for (const host of hosts) await host.stop();
    await moto?.close();
  });

  it('syncs every change exactly once, with no conflict copy', async () => {
    const before = await settleBoth();
    await mkdir(join(root, 'shared'), { recursive: true });
    for (let i = 0; i < 8; i++) await writeFile(file(`file-${i}.txt`), `file ${i}`);
    for (let i = 0; i < 8; i++)
      await s3().send(
        new PutObjectCommand({ Bucket: 'shared', Key: `object ${i}.txt`, Body: `object ${i}` }),
      );
    for (let i = 0; i < 8; i++) {
      await eventually(
        () => readFile(file(`object ${i}.txt`), 'utf8').then((t) => t === `object ${i}`),
        90_000,
      );
      await eventually(async () => {
        const object = await s3().send(new GetObjectCommand({ Bucket: 'shared', Key: `file-${i}.txt` }));
        return (await object.Body!.transformToString()) === `file ${i}`;
      }, 90_000);
    }
    for (let i = 0; i < 3; i++)
      await s3().send(new DeleteObjectCommand({ Bucket: 'shared', Key: `object ${i}.txt` }));
    for (let i = 0; i < 3; i++) await eventually(async () => !existsSync(file(`object ${i}.txt`)), 90_000);
    const after = await settleBoth();

    const delta = (field: keyof Status['transfers']) => total(after, field) - total(before, field);
    expect(delta('exports')).toBe(8);
    expect(delta('imports')).toBe(8);
    expect(delta('fileDeletes')).toBe(3);
    expect(delta('objectDeletes')).toBe(0);
    expect(after.reduce((sum, status) => sum + status.conflicts, 0)).toBe(0);
    // Both hosts did part of the work: the queue spread the messages.
    expect(after.every((status, i) => status.transfers.total > before[i]!.transfers.total)).toBe(true);
    const names = await readdir(join(root, 'shared'));
    expect(names.filter((name) => name.includes('.conflict-'))).toEqual([]);
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: 'shared' }));
    expect((listed.Contents ?? []).filter((o) => o.Key!.includes('.conflict-'))).toEqual([]);
    expect(names.filter((name) => name !== '.bucketlink').sort()).toEqual(
      [
        ...Array.from({ length: 8 }, (_, i) => `file-${i}.txt`),
        ...[3, 4, 5, 6, 7].map((i) => `object ${i}.txt`),
      ].sort(),
    );
  }, 240_000);
});
