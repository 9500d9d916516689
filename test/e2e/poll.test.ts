import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/clients.ts';
import type { PollStats } from '../../src/local/s3-poll.ts';
import { eventually, LocalProcess } from '../support/bucketlink.ts';
import {
  chainEnv,
  type ExternalPeer,
  requestCounts,
  startExternalS3rver,
} from '../support/external-peers.ts';

/** A key with a space, `+`, `%`, `#` and non-ASCII: none of it may be mangled on the way. */
const ODD_KEY = 'in/a b+c%20#ü日本.txt';

describe('bucketlink local --s3-endpoint --poll (an s3rver of its own, no notifications)', () => {
  let peer: ExternalPeer;
  let local: LocalProcess;
  const s3 = () => createS3Client({ endpoint: peer.endpoint });
  const file = (path: string) => join(local.root, 'polled', path);
  const poll = async () => (await local.status()).poll as PollStats;

  beforeAll(async () => {
    peer = await startExternalS3rver(['polled']);
    local = await LocalProcess.start(undefined, {
      args: ['--s3-endpoint', peer.endpoint, '--poll', '0.3'],
      env: chainEnv('S3RVER', 'S3RVER'),
      s3: s3(),
    });
    await local.associate('/polled', 's3://polled/');
  });

  afterAll(async () => {
    await local?.stop();
    await peer?.close();
  });

  it('imports a new object, then its overwrite, then its delete', async () => {
    await s3().send(new PutObjectCommand({ Bucket: 'polled', Key: ODD_KEY, Body: 'one' }));
    expect(await eventually(() => readFile(file(ODD_KEY), 'utf8').then((t) => t === 'one' && t))).toBe('one');
    await s3().send(new PutObjectCommand({ Bucket: 'polled', Key: ODD_KEY, Body: 'two, longer' }));
    await eventually(() => readFile(file(ODD_KEY), 'utf8').then((t) => t === 'two, longer'));
    await s3().send(new DeleteObjectCommand({ Bucket: 'polled', Key: ODD_KEY }));
    await eventually(async () => !existsSync(file(ODD_KEY)));
  });

  it('exports a new file (the file side still has its watcher)', async () => {
    await writeFile(file('out.txt'), 'from the file system');
    const body = await eventually(async () => {
      const object = await s3().send(new GetObjectCommand({ Bucket: 'polled', Key: 'out.txt' }));
      return object.Body!.transformToString();
    });
    expect(body).toBe('from the file system');
  });

  it('a poll that finds nothing costs the listing and nothing else', async () => {
    await local.settle();
    const before = await local.status();
    const requestsBefore = await requestCounts(peer);
    const pollsBefore = (await poll()).polls;
    await eventually(async () => (await poll()).polls >= pollsBefore + 4, 20_000);
    const after = await local.status();
    const requestsAfter = await requestCounts(peer);
    const added = Object.fromEntries(
      Object.entries(requestsAfter)
        .map(([what, n]) => [what, n - (requestsBefore[what] ?? 0)])
        .filter(([, n]) => n !== 0),
    );
    // Listings only (GET on the bucket, and the health check's HEAD on it): no HEAD, GET or PUT of an object.
    expect(added['GET bucket']).toBeGreaterThanOrEqual(4);
    expect(Object.keys(added).filter((what) => what !== 'GET bucket' && what !== 'HEAD bucket')).toEqual([]);
    expect((after.poll as PollStats).changed).toBe((before.poll as PollStats).changed);
    expect(after.transfers).toEqual(before.transfers);
  });

  it('after a restart, imports what changed in the bucket while it was stopped', async () => {
    await local.stop();
    await s3().send(new PutObjectCommand({ Bucket: 'polled', Key: 'while-stopped.txt', Body: 'later' }));
    await local.restart();
    expect(await eventually(() => readFile(file('while-stopped.txt'), 'utf8'))).toBe('later');
  });
});
