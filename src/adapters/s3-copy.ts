import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { PutResult } from './ports.ts';

/** CopyObject's limit: larger objects are copied part by part. */
export const MAX_SINGLE_COPY = 5 * 1024 ** 3;
/** Part size of a multipart copy (S3 allows 5 MiB – 5 GiB, at most 10,000 parts). */
const COPY_PART = 512 * 1024 ** 2;

export interface CopyOptions {
  size: number;
  ifMatch?: string;
  /** Above this size, copy with UploadPartCopy (default 5 GiB, S3's CopyObject limit). */
  singleCopyLimit?: number;
  partSize?: number;
}

/**
 * Server-side copy inside one bucket, keeping the user metadata (the POSIX
 * attributes ride along). The copy source is `encodeURI(bucket/key)`, which
 * both S3 and s3rver accept. `ifMatch` guards every request, so a source
 * that changed mid-copy fails it instead of producing a mix.
 */
export async function copyObject(
  client: S3Client,
  bucket: string,
  sourceKey: string,
  key: string,
  options: CopyOptions,
): Promise<PutResult> {
  const CopySource = encodeURI(`${bucket}/${sourceKey}`);
  const condition = options.ifMatch ? { CopySourceIfMatch: `"${options.ifMatch}"` } : {};
  if (options.size <= (options.singleCopyLimit ?? MAX_SINGLE_COPY)) {
    const out = await client.send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        CopySource,
        MetadataDirective: 'COPY',
        ...condition,
      }),
    );
    return {
      etag: (out.CopyObjectResult?.ETag ?? '').replaceAll('"', ''),
      ...(out.VersionId ? { versionId: out.VersionId } : {}),
    };
  }
  // Multipart copy does not carry metadata over: read it from the source first.
  const source = await client.send(
    new HeadObjectCommand({
      Bucket: bucket,
      Key: sourceKey,
      ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
    }),
  );
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      Metadata: source.Metadata,
      ...(source.ContentType ? { ContentType: source.ContentType } : {}),
    }),
  );
  try {
    const partSize = options.partSize ?? COPY_PART;
    const parts: Array<{ ETag: string; PartNumber: number }> = [];
    for (let start = 0, part = 1; start < options.size; start += partSize, part++) {
      const end = Math.min(start + partSize, options.size) - 1;
      const out = await client.send(
        new UploadPartCopyCommand({
          Bucket: bucket,
          Key: key,
          UploadId,
          PartNumber: part,
          CopySource,
          CopySourceRange: `bytes=${start}-${end}`,
          ...condition,
        }),
      );
      parts.push({ ETag: out.CopyPartResult?.ETag ?? '', PartNumber: part });
    }
    const done = await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    return {
      etag: (done.ETag ?? '').replaceAll('"', ''),
      ...(done.VersionId ? { versionId: done.VersionId } : {}),
    };
  } catch (error) {
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }))
      .catch(() => undefined);
    throw error;
  }
}
