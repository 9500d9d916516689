import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

/**
 * What a user's current AWS client writes to `bucketlink local` is the file
 * bucketlink imports, byte for byte: the SDK with its defaults (streams as
 * aws-chunked with a CRC32 trailer), multipart both through lib-storage and
 * part by part, and the AWS CLI (CRC32 as a header).
 */
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');
const run = promisify(execFile);

function stream(bytes: Buffer, pieces: number): Readable {
  const size = Math.ceil(bytes.length / pieces);
  return Readable.from(Array.from({ length: pieces }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));
}

function patterned(size: number, seed: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32BE((i * 2654435761 + seed) >>> 0, i);
  return bytes;
}

describe('uploads from a default AWS client, imported by bucketlink', () => {
  let local: LocalProcess;
  let s3: S3Client;
  let dir: string;

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('clients');
    await local.associate('/clients', 's3://clients/');
    dir = join(local.root, 'clients');
    s3 = new S3Client({
      endpoint: local.s3Endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
  }, 120_000);
  afterAll(async () => {
    s3?.destroy();
    await local?.stop();
  });

  /** Waits for the imported file and returns its bytes once it has the expected size. */
  async function imported(name: string, size: number): Promise<Buffer> {
    await eventually(async () => (await stat(join(dir, name))).size === size, 60_000);
    return readFile(join(dir, name));
  }

  it('imports a streamed PutObject as the bytes sent, not the chunk framing', async () => {
    const bytes = Buffer.from('hello world from a default SDK\n'.repeat(40));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'clients',
        Key: 'streamed.txt',
        Body: stream(bytes, 4),
        ContentLength: bytes.length,
      }),
    );
    expect(md5(await imported('streamed.txt', bytes.length))).toBe(md5(bytes));
  });

  it('imports a lib-storage Upload (multipart) of a stream', async () => {
    const bytes = patterned(12 * 1024 * 1024 + 333, 1);
    await new Upload({
      client: s3,
      params: { Bucket: 'clients', Key: 'uploaded.bin', Body: stream(bytes, 50) },
    }).done();
    expect(md5(await imported('uploaded.bin', bytes.length))).toBe(md5(bytes));
  });

  it('imports a multipart upload whose parts are streamed with CRC32 trailers', async () => {
    const parts = [patterned(5 * 1024 * 1024, 2), patterned(777_777, 3)];
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'clients', Key: 'parts.bin' }),
    );
    const etags: string[] = [];
    for (const [index, part] of parts.entries()) {
      const { ETag } = await s3.send(
        new UploadPartCommand({
          Bucket: 'clients',
          Key: 'parts.bin',
          UploadId,
          PartNumber: index + 1,
          Body: stream(part, 5),
          ContentLength: part.length,
        }),
      );
      etags.push(ETag!);
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'clients',
        Key: 'parts.bin',
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    const whole = Buffer.concat(parts);
    expect(md5(await imported('parts.bin', whole.length))).toBe(md5(whole));
  });

  it('imports what the AWS CLI uploads, and nothing of a refused upload', async () => {
    const aws = await run('aws', ['--version']).catch(() => undefined);
    const source = join(local.state, 'cli-source.txt');
    const bytes = Buffer.from('sent by the aws cli\n'.repeat(10));
    await writeFile(source, bytes);
    if (aws) {
      await run('aws', ['--endpoint-url', local.s3Endpoint, 's3', 'cp', source, 's3://clients/cli.txt'], {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          AWS_DEFAULT_REGION: 'us-east-1',
        },
      });
      expect(md5(await imported('cli.txt', bytes.length))).toBe(md5(bytes));
    }

    await expect(
      s3.send(
        new PutObjectCommand({ Bucket: 'clients', Key: 'refused.txt', Body: 'x', ChecksumCRC32: 'AAAAAA==' }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest' });
    await local.settle();
    await expect(stat(join(dir, 'refused.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);
});
