import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/clients.ts';
import { eventually, LocalProcess, runCli, tempDirs } from '../support/bucketlink.ts';
import {
  chainEnv,
  type ExternalPeer,
  startExternalS3rver,
  startInterceptingProxy,
} from '../support/external-peers.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;

/** `bucketlink local` against an s3rver in a process of its own, credentials from the AWS chain. */
describe('bucketlink local --s3-endpoint (an S3 server of its own)', () => {
  let peer: ExternalPeer;
  let local: LocalProcess;
  const s3 = () => createS3Client({ endpoint: peer.endpoint });

  const startLocal = async (env: Record<string, string>, ...args: string[]) => {
    const { root, state } = await tempDirs();
    return runCli(
      [
        '--openssl-legacy-provider',
        BIN,
        'local',
        '--root',
        root,
        '--state',
        state,
        '--s3-port',
        '0',
        '--control-port',
        '0',
        ...args,
      ],
      env,
    );
  };

  beforeAll(async () => {
    peer = await startExternalS3rver(['outside']);
    local = await LocalProcess.start(undefined, {
      args: ['--s3-endpoint', peer.endpoint],
      env: chainEnv('S3RVER', 'S3RVER'),
      s3: s3(),
    });
  });

  afterAll(async () => {
    await local?.stop();
    await peer?.close();
  });

  it('starts no embedded S3 server and exports to the external one', async () => {
    expect(local.s3Endpoint).toBe(peer.endpoint);
    expect(existsSync(join(local.state, 's3'))).toBe(false);
    await local.associate('/outside', 's3://outside/');
    await mkdir(join(local.root, 'outside', 'dir'), { recursive: true });
    await writeFile(join(local.root, 'outside', 'dir', 'a b.txt'), 'exported');
    const body = await eventually(async () => {
      const object = await s3().send(new GetObjectCommand({ Bucket: 'outside', Key: 'dir/a b.txt' }));
      return object.Body!.transformToString();
    });
    expect(body).toBe('exported');
    // Walk manifests stay in the state directory: no bucket of ours on the user's store.
    const { Buckets } = await s3().send(new ListBucketsCommand({}));
    expect(Buckets?.map((b) => b.Name)).toEqual(['outside']);
  });

  it('refuses an association on a missing bucket with one line', async () => {
    const created = await local.cli(
      'associations',
      'create',
      '--file-system-path',
      '/nothing',
      '--data-repository-path',
      's3://no-such-bucket/',
    );
    expect(created.code).not.toBe(0);
    expect(created.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^bucketlink: NoSuchBucket: bucket no-such-bucket does not exist/),
    ]);
  });

  it('marks the association MISCONFIGURED when its bucket goes away later', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'short-lived' }));
    const id = await local.associate('/short', 's3://short-lived/');
    const listed = await s3().send(new ListObjectsV2Command({ Bucket: 'short-lived' }));
    for (const object of listed.Contents ?? [])
      await s3().send(new DeleteObjectCommand({ Bucket: 'short-lived', Key: object.Key! }));
    await s3().send(new DeleteBucketCommand({ Bucket: 'short-lived' }));
    const lifecycle = await eventually(async () => {
      const described = JSON.parse((await local.cli('associations', 'describe', id)).stdout);
      return described.associations[0].lifecycle === 'MISCONFIGURED' && described.associations[0];
    }, 20_000);
    expect(lifecycle.failureDetails.message).toMatch(/short-lived/);
  });

  it('marks the association MISCONFIGURED while the store refuses the credentials, AVAILABLE after', async () => {
    let refusing = false;
    // Keys revoked while it runs: every request answers 403, as S3 does then.
    const proxy = await startInterceptingProxy(peer.endpoint, () => (refusing ? 403 : false));
    const revoked = await LocalProcess.start(undefined, {
      args: ['--s3-endpoint', proxy.endpoint],
      env: chainEnv('S3RVER', 'S3RVER'),
      s3: s3(),
    });
    try {
      const id = await revoked.associate('/revoked', 's3://outside/');
      const lifecycle = async () =>
        JSON.parse((await revoked.cli('associations', 'describe', id)).stdout).associations[0];
      refusing = true;
      const misconfigured = await eventually(async () => {
        const association = await lifecycle();
        return association.lifecycle === 'MISCONFIGURED' && association;
      }, 20_000);
      expect(misconfigured.failureDetails.message).toMatch(/s3:\/\/outside refused the credentials/);
      refusing = false;
      await eventually(async () => (await lifecycle()).lifecycle === 'AVAILABLE', 20_000);
    } finally {
      await revoked.stop();
      await proxy.close();
    }
  });

  it('names bad credentials in one line at start-up', async () => {
    const started = await startLocal(chainEnv('NOT-A-KEY', 'S3RVER'), '--s3-endpoint', peer.endpoint);
    expect(started.code).not.toBe(0);
    expect(started.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^bucketlink: S3EndpointUnusable: .* refused the credentials \(InvalidAccessKeyId\)/,
      ),
    ]);
  });

  it('names missing credentials in one line at start-up', async () => {
    const env = chainEnv('', '');
    const started = await startLocal(
      { ...env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' },
      '--s3-endpoint',
      peer.endpoint,
    );
    expect(started.code).not.toBe(0);
    expect(started.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^bucketlink: S3EndpointUnusable: no AWS credentials found/),
    ]);
  });

  it('names an endpoint that does not answer in one line at start-up', async () => {
    const started = await startLocal(chainEnv('S3RVER', 'S3RVER'), '--s3-endpoint', 'http://127.0.0.1:1');
    expect(started.code).not.toBe(0);
    expect(started.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^bucketlink: S3EndpointUnusable: http:\/\/127\.0\.0\.1:1 cannot be reached/),
    ]);
  });

  it('refuses an --s3-endpoint that is not a URL', async () => {
    const started = await startLocal(chainEnv('S3RVER', 'S3RVER'), '--s3-endpoint', 'minio.local');
    expect(started.stderr.trim()).toMatch(
      /^bucketlink: S3EndpointUnusable: --s3-endpoint minio.local is neither/,
    );
  });
});
