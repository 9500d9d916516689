import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

const run = promisify(execFile);

describe('bucketlink local syncs two associations both ways', () => {
  let local: LocalProcess;
  const logs = () => join(local.root, 'logs');
  const finance = () => join(local.root, 'finance');

  const aws = (...args: string[]) =>
    run('/usr/bin/aws', ['--endpoint-url', local.s3Endpoint, ...args], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_DEFAULT_REGION: 'us-east-1',
      },
    });

  const head = (bucket: string, key: string) =>
    local.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
  const body = async (bucket: string, key: string) => {
    const object = await local.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  };
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );
  const write = async (path: string, content: string | Buffer) => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content);
  };

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('logs');
    await local.createBucket('financial-data');
    await local.associate('/logs', 's3://logs/');
    await local.associate('/finance', 's3://financial-data/reports/');
  });

  afterAll(async () => {
    await local?.stop();
  });

  it('exports a new file under each root with its bytes, permissions and mtime', async () => {
    await write(join(logs(), 'app/today.log'), 'line one\n');
    await write(join(finance(), 'q3.csv'), 'a,b\n1,2\n');
    await chmod(join(finance(), 'q3.csv'), 0o640);
    // s3rver writes an object's body before its metadata: wait for both.
    const complete = async (bucket: string, key: string) => {
      const found = await head(bucket, key);
      return found?.Metadata?.['user-agent'] ? found : undefined;
    };
    const logHead = await eventually(() => complete('logs', 'app/today.log'));
    const csvHead = await eventually(() => complete('financial-data', 'reports/q3.csv'));
    expect((await body('logs', 'app/today.log')).toString()).toBe('line one\n');
    expect((await body('financial-data', 'reports/q3.csv')).toString()).toBe('a,b\n1,2\n');
    expect(csvHead.Metadata?.['file-permissions']).toBe('0100640');
    const mtimeNs = (await stat(join(finance(), 'q3.csv'), { bigint: true })).mtimeNs;
    expect(csvHead.Metadata?.['file-mtime']).toBe(`${mtimeNs}ns`);
    expect(logHead.Metadata?.['user-agent']).toBe('bucketlink');
  });

  it('exports a 50 MiB file intact', async () => {
    const big = randomBytes(50 * 1024 * 1024);
    await write(join(logs(), 'big.bin'), big);
    const expected = createHash('md5').update(big).digest('hex');
    await eventually(async () => (await head('logs', 'big.bin'))?.ContentLength === big.length, 60_000);
    const object = await local.s3.send(new GetObjectCommand({ Bucket: 'logs', Key: 'big.bin' }));
    const hash = createHash('md5');
    for await (const chunk of object.Body as AsyncIterable<Buffer>) hash.update(chunk);
    expect(hash.digest('hex')).toBe(expected);
  });

  it('imports an object put with the SDK, with mode and mtime from its metadata', async () => {
    await local.s3.send(
      new PutObjectCommand({
        Bucket: 'logs',
        Key: 'from-sdk/report.txt',
        Body: 'from s3',
        Metadata: { 'file-permissions': '0100600', 'file-mtime': '1700000000123456789ns' },
      }),
    );
    const path = join(logs(), 'from-sdk/report.txt');
    await eventually(() => exists(path));
    expect(await readFile(path, 'utf8')).toBe('from s3');
    const stats = await stat(path, { bigint: true });
    expect(Number(stats.mode & 0o777n)).toBe(0o600);
    expect(Number(stats.mtimeNs / 1000n)).toBe(1_700_000_000_123_456);
  });

  it('imports an object copied in with /usr/bin/aws s3 cp', async () => {
    const source = join(local.state, 'upload.txt');
    await writeFile(source, 'via the aws cli');
    await aws('s3', 'cp', source, 's3://financial-data/reports/cli/upload.txt');
    const path = join(finance(), 'cli/upload.txt');
    await eventually(() => exists(path));
    expect(await readFile(path, 'utf8')).toBe('via the aws cli');
  });

  it.each([
    'with space.txt',
    'plus+sign.txt',
    'percent%41.txt',
    'lone%.txt',
    'hash#tag.txt',
    'ünïcødé-日本.txt',
  ])('maps the key %j to the same file name, raw', async (name) => {
    await local.s3.send(new PutObjectCommand({ Bucket: 'logs', Key: `keys/${name}`, Body: name }));
    const path = join(logs(), 'keys', name);
    await eventually(() => exists(path));
    expect(await readFile(path, 'utf8')).toBe(name);
  });

  it('deletes on either side delete on the other', async () => {
    await write(join(logs(), 'doomed/by-fs.txt'), 'x');
    await local.s3.send(new PutObjectCommand({ Bucket: 'logs', Key: 'doomed/by-s3.txt', Body: 'y' }));
    await eventually(() => head('logs', 'doomed/by-fs.txt'));
    await eventually(() => exists(join(logs(), 'doomed/by-s3.txt')));
    await local.settle();

    await rm(join(logs(), 'doomed/by-fs.txt'));
    await local.s3.send(new DeleteObjectCommand({ Bucket: 'logs', Key: 'doomed/by-s3.txt' }));
    await eventually(async () => (await head('logs', 'doomed/by-fs.txt')) === undefined);
    await eventually(async () => !(await exists(join(logs(), 'doomed/by-s3.txt'))));
  });

  // Keys such as `../escape.txt` cannot even be stored in s3rver (it normalizes
  // them away); their refusal is pinned with AWS-shaped events in
  // test/integration/sync/sync-machine.test.ts. Here: the export side.
  it('refuses a file whose key would pass 1024 bytes, reports it, and uploads nothing', async () => {
    // 200-byte names: s3rver itself cannot store a 250-byte segment (it adds a suffix on disk).
    const segment = 'd'.repeat(200);
    const deep = join(logs(), segment, segment, segment, segment, segment, segment, 'too-long.txt');
    await write(deep, 'unexportable');
    const status = await eventually(async () => {
      const current = await local.status();
      return (
        current.problems.some(
          (p) => p.code === 'S3ExportPathSizeTooLong' && p.path?.endsWith('/too-long.txt'),
        ) && current
      );
    });
    expect(status.failed).toBe(0);
    await local.settle();
    const listed = await local.s3.send(new ListObjectsV2Command({ Bucket: 'logs', Prefix: `${segment}/` }));
    expect(listed.KeyCount).toBe(0);
  });

  it('deletes the matching files after aws s3 rm --recursive of a prefix', async () => {
    for (const name of ['one', 'two', 'three']) {
      await local.s3.send(new PutObjectCommand({ Bucket: 'logs', Key: `bulk/${name}.txt`, Body: name }));
    }
    await eventually(() => exists(join(logs(), 'bulk/three.txt')));
    await eventually(() => exists(join(logs(), 'bulk/one.txt')));
    await local.settle();
    await aws('s3', 'rm', '--recursive', 's3://logs/bulk/');
    await eventually(async () => {
      for (const name of ['one', 'two', 'three'])
        if (await exists(join(logs(), `bulk/${name}.txt`))) return false;
      return true;
    });
  });

  it('exports a chmod alone as new file-permissions', async () => {
    const path = join(logs(), 'modes/script.sh');
    await write(path, '#!/bin/sh\n');
    await eventually(() => head('logs', 'modes/script.sh'));
    await local.settle();
    await chmod(path, 0o755);
    await eventually(
      async () => (await head('logs', 'modes/script.sh'))?.Metadata?.['file-permissions'] === '0100755',
    );
  });

  it('does no further transfers once changes stop (no echo, no loop)', async () => {
    const before = await local.settle();
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const after = await local.settle();
    expect(after.transfers.total).toBe(before.transfers.total);
    expect(after.problems.filter((p) => p.code !== 'S3ExportPathSizeTooLong')).toEqual([]);
    expect(after.failed).toBe(0);
  });
});
