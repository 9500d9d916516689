import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import { copyObject } from '../../../src/adapters/s3-copy.ts';
import { type S3Server, startS3Server } from '../../../src/local/peers.ts';

describe('server-side copy', () => {
  let server: S3Server;
  let s3: S3Client;

  beforeAll(async () => {
    server = await startS3Server({ directory: await mkdtemp(join(tmpdir(), 'bucketlink-copy-')) });
    s3 = createS3Client({ endpoint: server.endpoint });
    await s3.send(new CreateBucketCommand({ Bucket: 'copies' }));
  });
  afterAll(async () => {
    await server?.close();
  });

  it.each(['plain.txt', 'with space/and+plus %41 100% é.txt'])(
    'copies %s with its metadata on s3rver',
    async (key) => {
      await s3.send(
        new PutObjectCommand({
          Bucket: 'copies',
          Key: key,
          Body: 'payload',
          Metadata: { 'file-permissions': '0100640', 'file-mtime': '1700000000000000001ns' },
        }),
      );
      const source = await s3.send(new HeadObjectCommand({ Bucket: 'copies', Key: key }));
      const target = `moved/${key}`;
      const result = await copyObject(s3, 'copies', key, target, {
        size: 7,
        ifMatch: source.ETag!.replaceAll('"', ''),
      });
      expect(result.etag).toBe(source.ETag!.replaceAll('"', ''));
      const copied = await s3.send(new GetObjectCommand({ Bucket: 'copies', Key: target }));
      expect(await copied.Body!.transformToString()).toBe('payload');
      expect(copied.Metadata).toMatchObject({
        'file-permissions': '0100640',
        'file-mtime': '1700000000000000001ns',
      });
    },
  );

  // s3rver has no UploadPartCopy: the multipart path is checked for the requests it makes.
  it('copies above the single-copy limit part by part, carrying the metadata and the If-Match', async () => {
    const mock = mockClient(S3Client);
    mock
      .on(HeadObjectCommand)
      .resolves({ Metadata: { 'file-permissions': '0100644' }, ContentType: 'text/plain' });
    mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    mock
      .on(UploadPartCopyCommand)
      .callsFake((input) => ({ CopyPartResult: { ETag: `"p${input.PartNumber}"` } }));
    mock.on(CompleteMultipartUploadCommand).resolves({ ETag: '"whole-3"' });
    const client = new S3Client({ region: 'us-east-1' });
    const result = await copyObject(client, 'b', 'a b.bin', 'c.bin', {
      size: 25,
      ifMatch: 'abc',
      singleCopyLimit: 10,
      partSize: 10,
    });
    expect(result.etag).toBe('whole-3');
    expect(mock.commandCalls(CreateMultipartUploadCommand)[0]!.args[0].input).toMatchObject({
      Metadata: { 'file-permissions': '0100644' },
    });
    expect(mock.commandCalls(UploadPartCopyCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        PartNumber: 1,
        CopySourceRange: 'bytes=0-9',
        CopySource: 'b/a%20b.bin',
        CopySourceIfMatch: '"abc"',
      }),
      expect.objectContaining({ PartNumber: 2, CopySourceRange: 'bytes=10-19' }),
      expect.objectContaining({ PartNumber: 3, CopySourceRange: 'bytes=20-24' }),
    ]);
    expect(
      mock.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input.MultipartUpload?.Parts,
    ).toEqual([
      { ETag: '"p1"', PartNumber: 1 },
      { ETag: '"p2"', PartNumber: 2 },
      { ETag: '"p3"', PartNumber: 3 },
    ]);
    mock.restore();
  });
});
