import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  GetObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { S3RangeStore } from '../../../src/adapters/s3-ranges.ts';

/**
 * What s3rver cannot show: AbortMultipartUpload (it answers 405) and a GET's
 * If-Match (it ignores the header). The requests S3RangeStore sends, and how
 * it reads S3's answers.
 */
describe('S3RangeStore against a mocked S3 client', () => {
  const mock = mockClient(S3Client);
  const store = new S3RangeStore({ client: new S3Client({ region: 'us-east-1' }) });
  afterEach(() => mock.reset());

  it('aborts the upload it is given', async () => {
    mock.on(AbortMultipartUploadCommand).resolves({});
    await store.abort('bucket', 'big.bin', 'upload-1');
    expect(mock.commandCalls(AbortMultipartUploadCommand).map((c) => c.args[0].input)).toEqual([
      { Bucket: 'bucket', Key: 'big.bin', UploadId: 'upload-1' },
    ]);
  });

  it('reads a range on condition of the ETag', async () => {
    mock.on(GetObjectCommand).resolves({ ETag: '"abc"', Body: Readable.from([Buffer.from('xyz')]) as never });
    const body = await store.getRange('bucket', 'big.bin', 'abc', 5, 7);
    expect(Buffer.concat(await body.toArray()).toString()).toBe('xyz');
    expect(mock.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'bucket',
      Key: 'big.bin',
      IfMatch: '"abc"',
      Range: 'bytes=5-7',
    });
  });

  it('reports a failed condition (412) and an answer of another version as a source change', async () => {
    mock.on(GetObjectCommand).rejectsOnce(
      new S3ServiceException({
        name: 'PreconditionFailed',
        $fault: 'client',
        $metadata: { httpStatusCode: 412 },
      }),
    );
    await expect(store.getRange('bucket', 'k', 'abc', 0, 1)).rejects.toMatchObject({
      code: 'SourceChangedDuringTransfer',
    });
    mock.on(GetObjectCommand).resolves({ ETag: '"other"', Body: Readable.from([]) as never });
    await expect(store.getRange('bucket', 'k', 'abc', 0, 1)).rejects.toMatchObject({
      code: 'SourceChangedDuringTransfer',
    });
  });
});
