import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { SourceChangedError } from '../core/errors.ts';
import type { PutResult } from './ports.ts';
import { unquoteEtag } from './s3.ts';
import { toSyncError } from './s3-errors.ts';

/**
 * S3 by byte ranges, for the large-file path: a multipart upload whose parts
 * are sent by different Lambda invocations, and ranged reads of one object
 * version. Keys are raw; errors are mapped like the ObjectStore's.
 */
export class S3RangeStore {
  readonly #client: S3Client;

  constructor(options: { client: S3Client }) {
    this.#client = options.client;
  }

  /** Starts a multipart upload carrying the object's user metadata (keys without `x-amz-meta-`). */
  async createUpload(bucket: string, key: string, metadata: Record<string, string>): Promise<string> {
    try {
      const out = await this.#client.send(
        new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: metadata }),
      );
      if (!out.UploadId)
        throw new Error(`CreateMultipartUpload of s3://${bucket}/${key} returned no UploadId`);
      return out.UploadId;
    } catch (error) {
      throw toSyncError(error, bucket, key);
    }
  }

  /** Sends one part from a stream of exactly `length` bytes; returns the part's ETag (bare). */
  async uploadPart(
    bucket: string,
    key: string,
    uploadId: string,
    partNumber: number,
    body: Readable,
    length: number,
  ): Promise<string> {
    // A body that fails (the file changed while read) must abort the request, not hang it.
    if (body.errored) throw body.errored;
    const abort = new AbortController();
    let bodyError: unknown;
    body.once('error', (error) => {
      bodyError = error;
      abort.abort(error);
    });
    try {
      const out = await this.#client.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: length,
        }),
        { abortSignal: abort.signal },
      );
      return unquoteEtag(out.ETag);
    } catch (error) {
      throw bodyError ?? toSyncError(error, bucket, key);
    }
  }

  /** Completes the upload from its parts (any order given; sent sorted). */
  async complete(
    bucket: string,
    key: string,
    uploadId: string,
    parts: Array<{ partNumber: number; etag: string }>,
  ): Promise<PutResult> {
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    try {
      const out = await this.#client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: sorted.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
        }),
      );
      return { etag: unquoteEtag(out.ETag), ...(out.VersionId ? { versionId: out.VersionId } : {}) };
    } catch (error) {
      throw toSyncError(error, bucket, key);
    }
  }

  /** Drops the upload and its parts, so nothing accrues storage. */
  async abort(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this.#client.send(
        new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }),
      );
    } catch (error) {
      throw toSyncError(error, bucket, key);
    }
  }

  /**
   * Bytes `start`..`end` (inclusive) of the object version with ETag `etag`.
   * S3 answers 412 when the object moved (IfMatch); the answer's own ETag is
   * checked too, for endpoints that ignore the condition.
   */
  async getRange(bucket: string, key: string, etag: string, start: number, end: number): Promise<Readable> {
    let out: GetObjectCommandOutput;
    try {
      out = await this.#client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          IfMatch: `"${etag}"`,
          Range: `bytes=${start}-${end}`,
        }),
      );
    } catch (error) {
      throw toSyncError(error, bucket, key);
    }
    const body = out.Body instanceof Readable ? out.Body : Readable.from([]);
    if (unquoteEtag(out.ETag) !== etag) {
      body.destroy();
      throw new SourceChangedError(`s3://${bucket}/${key} changed during a ranged read`);
    }
    return body;
  }
}
