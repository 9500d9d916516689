import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { httpStatus } from './s3-errors.ts';

/**
 * Whether a bucket's store honours conditional writes (`If-None-Match: *`,
 * `If-Match` on PutObject), found once per bucket and cached. The probe is a
 * PutObject of the bucket's `.bucketlink` key with an `If-Match` no object
 * can have: a store that honours it answers 404 (no such key) or 412 and
 * writes nothing; one that ignores it (s3rver) stores the empty object,
 * which the probe deletes again. `.bucketlink` is the sentinel name plan
 * drops, so the probe's own events are never synced.
 */
export class ConditionalWrites {
  readonly #client: S3Client;
  readonly #known = new Map<string, Promise<boolean>>();

  constructor(client: S3Client) {
    this.#client = client;
  }

  supported(bucket: string): Promise<boolean> {
    let known = this.#known.get(bucket);
    if (!known) {
      known = this.#probe(bucket);
      // A probe that could not finish (a transient fault) is tried again next time.
      known.catch(() => this.#known.delete(bucket));
      this.#known.set(bucket, known);
    }
    return known;
  }

  async #probe(bucket: string): Promise<boolean> {
    try {
      await this.#client.send(
        new PutObjectCommand({ Bucket: bucket, Key: '.bucketlink', Body: '', IfMatch: '"bucketlink-probe"' }),
      );
    } catch (error) {
      const status = httpStatus(error);
      if (status === 404 || status === 412) return true;
      // Not ours to judge (no PutObject permission): send the conditions, as AWS honours them.
      if (status === 403) return true;
      if (status !== undefined && status < 500) return false;
      throw error;
    }
    await this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: '.bucketlink' }));
    return false;
  }
}
