import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3Server, startS3Server } from '../../../src/local/peers.ts';
import { type ChecksumAlgorithm, Checksums } from '../../../src/local/s3/checksums.ts';

/**
 * The embedded S3 endpoint stores what a current AWS SDK means, not its
 * aws-chunked framing, and answers checksums as S3 does. The client is the
 * SDK with its defaults (requestChecksumCalculation WHEN_SUPPORTED: streams
 * go as STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer), unlike
 * bucketlink's own clients.
 */
const BUCKET = 'chunked';

async function checksum(algorithm: ChecksumAlgorithm, bytes: Buffer): Promise<string> {
  const checksums = new Checksums([algorithm]);
  checksums.update(bytes);
  return (await checksums.digests()).get(algorithm)!;
}
const crc32 = (bytes: Buffer) => checksum('crc32', bytes);
const md5 = (bytes: Buffer) => createHash('md5').update(bytes).digest('hex');

function stream(bytes: Buffer, pieces = 3): Readable {
  const size = Math.ceil(bytes.length / pieces);
  return Readable.from(Array.from({ length: pieces }, (_, i) => bytes.subarray(i * size, (i + 1) * size)));
}

/** One raw PUT, for framings the JS SDK does not send (signed chunks) and for wrong checksums. */
function rawPut(
  endpoint: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${endpoint}${path}`, {
      method: 'PUT',
      headers: { ...headers, 'content-length': body.length },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk) => {
        text += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.end(body);
  });
}

const SIG = 'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648';

/** `aws-chunked` as S3's SigV4 streaming documents it, chunk signatures and all. */
function signedFrame(bytes: Buffer, chunk: number, trailer?: string): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += chunk) {
    const piece = bytes.subarray(at, at + chunk);
    parts.push(
      Buffer.from(`${piece.length.toString(16)};chunk-signature=${SIG}\r\n`),
      piece,
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`0;chunk-signature=${SIG}\r\n`));
  if (trailer) parts.push(Buffer.from(`${trailer}\r\nx-amz-trailer-signature:${SIG}\r\n`));
  parts.push(Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

describe('uploads from a default-configured AWS SDK', () => {
  let directory: string;
  let server: S3Server;
  let s3: S3Client;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'bucketlink-chunked-'));
    server = await startS3Server({ directory });
    s3 = new S3Client({
      endpoint: server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });
  afterAll(async () => {
    s3?.destroy();
    await server?.close();
    await rm(directory, { recursive: true, force: true });
  });

  async function stored(key: string): Promise<Buffer> {
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  }

  it('stores a streamed PutObject (aws-chunked, CRC32 trailer) as its bytes and answers its CRC32', async () => {
    const bytes = Buffer.from('hello world, streamed in pieces\n'.repeat(3));

    const put = await s3.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'streamed.txt',
        Body: stream(bytes),
        ContentLength: bytes.length,
      }),
    );

    expect(await stored('streamed.txt')).toEqual(bytes);
    expect(put.ChecksumCRC32).toBe(await crc32(bytes));
    expect(put.ETag).toBe(`"${md5(bytes)}"`);
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: 'streamed.txt', ChecksumMode: 'ENABLED' }),
    );
    expect(head).toMatchObject({
      ContentLength: bytes.length,
      ChecksumCRC32: await crc32(bytes),
      ChecksumType: 'FULL_OBJECT',
    });
    expect(head.ContentEncoding).toBeUndefined();
    const plainHead = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'streamed.txt' }));
    expect(plainHead.ChecksumCRC32).toBeUndefined();
  });

  it('checks and keeps the algorithm the client picks (CRC32C, CRC64NVME, SHA1, SHA256)', async () => {
    const bytes = Buffer.from('algorithms\n'.repeat(100));
    for (const algorithm of ['CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const) {
      const key = `algo-${algorithm}`;
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: key,
          Body: stream(bytes),
          ContentLength: bytes.length,
          ChecksumAlgorithm: algorithm,
        }),
      );
      const field = `Checksum${algorithm}` as const;
      const expected = await checksum(algorithm.toLowerCase() as ChecksumAlgorithm, bytes);
      expect(put[field], algorithm).toBe(expected);
      expect(await stored(key)).toEqual(bytes);
      // GetObject in the SDK's default checksum mode validates the body against what we answer.
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
      expect(got[field]).toBe(expected);
      await got.Body!.transformToByteArray();
    }
  });

  it('checks a checksum sent as a header with a buffered body', async () => {
    const bytes = Buffer.from('a buffered body');
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'buffered.txt', Body: bytes }));
    expect(put.ChecksumCRC32).toBe(await crc32(bytes));
    expect(await stored('buffered.txt')).toEqual(bytes);
  });

  it('refuses a wrong checksum with BadDigest and keeps the previous object', async () => {
    const before = Buffer.from('the previous object');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'kept.txt', Body: before }));

    await expect(
      s3.send(
        new PutObjectCommand({
          Bucket: BUCKET,
          Key: 'kept.txt',
          Body: 'new bytes',
          ChecksumCRC32: 'AAAAAA==',
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest', $metadata: { httpStatusCode: 400 } });
    const body = Buffer.from('new bytes, wrong trailer');
    const trailed = await rawPut(
      server.endpoint,
      `/${BUCKET}/kept.txt`,
      {
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length': String(body.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
      Buffer.from(`${body.length.toString(16)}\r\n${body}\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n`),
    );

    expect(trailed.status).toBe(400);
    expect(trailed.body).toContain('<Code>BadDigest</Code>');
    expect(trailed.body).toContain('The CRC32 you specified did not match the calculated checksum.');
    expect(await stored('kept.txt')).toEqual(before);
  });

  it('refuses two checksum algorithms in one request with InvalidRequest', async () => {
    const body = Buffer.from('two');
    const answer = await rawPut(
      server.endpoint,
      `/${BUCKET}/two.txt`,
      {
        'x-amz-checksum-crc32': await crc32(body),
        'x-amz-checksum-sha1': 'x',
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
      body,
    );
    expect(answer.status).toBe(400);
    expect(answer.body).toContain('<Code>InvalidRequest</Code>');
  });

  it('decodes signed chunks (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, with and without a trailer)', async () => {
    const bytes = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));
    const plain = await rawPut(
      server.endpoint,
      `/${BUCKET}/signed.bin`,
      {
        'content-encoding': 'aws-chunked',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'x-amz-decoded-content-length': String(bytes.length),
      },
      signedFrame(bytes, 65_536),
    );
    expect(plain.status).toBe(200);
    expect(await stored('signed.bin')).toEqual(bytes);

    const trailed = await rawPut(
      server.endpoint,
      `/${BUCKET}/signed-trailer.bin`,
      {
        'content-encoding': 'aws-chunked,gzip',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        'x-amz-decoded-content-length': String(bytes.length),
        'x-amz-trailer': 'x-amz-checksum-crc32',
      },
      signedFrame(bytes, 65_536, `x-amz-checksum-crc32:${await crc32(bytes)}`),
    );
    expect(trailed.status).toBe(200);
    expect(trailed.headers['x-amz-checksum-crc32']).toBe(await crc32(bytes));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'signed-trailer.bin' }));
    // S3 drops aws-chunked from the stored Content-Encoding and keeps the rest.
    expect(head).toMatchObject({ ContentLength: bytes.length, ContentEncoding: 'gzip' });
  });

  it('stores a lib-storage Upload (multipart, each part with its CRC32) as its bytes', async () => {
    const bytes = Buffer.alloc(11 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes.writeUInt32BE(i, i);

    await new Upload({
      client: s3,
      params: { Bucket: BUCKET, Key: 'multi.bin', Body: stream(bytes, 40) },
    }).done();

    const back = await stored('multi.bin');
    expect(back.length).toBe(bytes.length);
    expect(md5(back)).toBe(md5(bytes));
  });

  it('answers an UploadPart with the part checksum and refuses a wrong one', async () => {
    const part = Buffer.alloc(5 * 1024 * 1024, 9);
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'parts.bin' }),
    );
    const uploaded = await s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: 'parts.bin',
        UploadId,
        PartNumber: 1,
        Body: stream(part),
        ContentLength: part.length,
      }),
    );
    expect(uploaded.ChecksumCRC32).toBe(await crc32(part));
    await expect(
      s3.send(
        new UploadPartCommand({
          Bucket: BUCKET,
          Key: 'parts.bin',
          UploadId,
          PartNumber: 2,
          Body: part,
          ChecksumCRC32: 'AAAAAA==',
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest' });
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: 'parts.bin',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: uploaded.ETag }] },
      }),
    );
    expect(md5(await stored('parts.bin'))).toBe(md5(part));
  });
});
