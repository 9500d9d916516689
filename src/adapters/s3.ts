import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { decodePosixMeta, metaHash, objectKind } from '../core/metadata.ts';
import type { NodeKind, S3State } from '../core/types.ts';
import type { ListedObject, ObjectStore, PutResult } from './ports.ts';
import { ConditionalWrites } from './s3-conditions.ts';
import { copyObject } from './s3-copy.ts';
import { isNotFound, toSyncError } from './s3-errors.ts';

const MiB = 1024 * 1024;

export interface S3ObjectStoreOptions {
  /** Build it with `createS3Client` (WHEN_REQUIRED checksums, docs/architecture.md §8). */
  client: S3Client;
  /** Streams of at least this many bytes go multipart. Default 16 MiB. */
  multipartThreshold?: number;
  /** Default 8 MiB (S3's minimum is 5 MiB). */
  partSize?: number;
  /** Parts in flight per upload. Default 4. */
  queueSize?: number;
  /**
   * `probe` (default): send PutObject's conditions where the bucket's store
   * honours them (src/adapters/s3-conditions.ts). `off`: never (a peer known
   * to ignore them, such as the embedded s3rver).
   */
  conditionalWrites?: 'probe' | 'off';
}

/** What HEAD and GET both answer; the fields S3State is built from. */
interface ObjectHeaders {
  ETag?: string;
  VersionId?: string;
  LastModified?: Date;
  ContentLength?: number;
  Metadata?: Record<string, string>;
}

/** An implied directory has no object, so nothing to date it by: a fixed epoch keeps it "same" across listings. */
const IMPLIED_DIR_DATE = new Date(0).toISOString();

/** S3 quotes ETags on the wire; the ledger and decisions compare them bare. */
export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^"(.*)"$/, '$1');
}

function toState(key: string, headers: ObjectHeaders): S3State {
  const metadata = headers.Metadata ?? {};
  const meta = decodePosixMeta(metadata);
  return {
    kind: objectKind(key, meta),
    key,
    etag: unquoteEtag(headers.ETag),
    ...(headers.VersionId ? { versionId: headers.VersionId } : {}),
    lastModified: (headers.LastModified ?? new Date(0)).toISOString(),
    size: headers.ContentLength ?? 0,
    metaHash: metaHash(metadata),
    meta,
  };
}

/**
 * The ObjectStore port on the AWS SDK v3: real S3, s3rver, or any S3
 * endpoint. Keys are raw throughout; bodies are streamed, never buffered.
 */
export class S3ObjectStore implements ObjectStore {
  readonly #client: S3Client;
  readonly #multipartThreshold: number;
  readonly #partSize: number;
  readonly #queueSize: number;
  readonly #conditions: ConditionalWrites | undefined;

  constructor(options: S3ObjectStoreOptions) {
    this.#client = options.client;
    this.#multipartThreshold = options.multipartThreshold ?? 16 * MiB;
    this.#partSize = options.partSize ?? 8 * MiB;
    this.#queueSize = options.queueSize ?? 4;
    this.#conditions =
      options.conditionalWrites === 'off' ? undefined : new ConditionalWrites(options.client);
  }

  /**
   * HEAD one key; undefined on 404. A HEAD cannot tell a missing key from a
   * missing bucket (no error body), so `stat` finishes with a listing, which can.
   */
  async head(bucket: string, key: string): Promise<S3State | undefined> {
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return toState(key, out);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toSyncError(error, bucket, key);
    }
  }

  /**
   * Probes in the order the hint makes likely, so the common case costs one
   * request and an absent path two. Without a hint (or a file/symlink hint)
   * the object `prefix+path` wins over a directory of the same name, as the
   * port says; a 'dir' hint probes the directory first, which differs only
   * when both exist (a type mismatch that `apply` reports either way).
   */
  async stat(
    bucket: string,
    prefix: string,
    path: string,
    kindHint?: NodeKind,
  ): Promise<S3State | undefined> {
    const fileKey = prefix + path;
    const dirKey = path === '' ? prefix : `${fileKey}/`;
    const probeFile = () => (fileKey === dirKey || fileKey === '' ? undefined : this.head(bucket, fileKey));
    const probeDir = () => this.#directory(bucket, dirKey);
    const probes = kindHint === 'dir' ? [probeDir, probeFile] : [probeFile, probeDir];
    for (const probe of probes) {
      const state = await probe();
      if (state) return state;
    }
    return undefined;
  }

  /** The object with its body, by one GET; a 404 falls back to the directory probe (one listing). */
  async open(
    bucket: string,
    prefix: string,
    path: string,
  ): Promise<{ state: S3State; body?: Readable } | undefined> {
    const fileKey = prefix + path;
    if (path !== '') {
      try {
        return await this.get(bucket, fileKey);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }
    const state = await this.#directory(bucket, path === '' ? prefix : `${fileKey}/`);
    return state && { state };
  }

  /**
   * A directory: its marker `dirKey` (with the marker's metadata) or, with
   * no marker, any key below it. One listing answers both, since the marker
   * is the first key under its own prefix.
   */
  async #directory(bucket: string, dirKey: string): Promise<S3State | undefined> {
    let first: string | undefined;
    try {
      const out = await this.#client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: dirKey, MaxKeys: 1 }),
      );
      first = out.Contents?.[0]?.Key;
    } catch (error) {
      throw toSyncError(error, bucket, dirKey);
    }
    if (first === undefined) return undefined;
    if (first === dirKey && dirKey !== '') {
      const marker = await this.head(bucket, dirKey);
      return marker && { ...marker, kind: 'dir' };
    }
    return {
      kind: 'dir',
      key: dirKey,
      etag: '',
      lastModified: IMPLIED_DIR_DATE,
      size: 0,
      metaHash: metaHash({}),
      meta: {},
      implied: true,
    };
  }

  /** Streams the body; with `ifMatch`, S3 answers 412 (SourceChangedError) if the object moved. */
  async get(
    bucket: string,
    key: string,
    options: { ifMatch?: string } = {},
  ): Promise<{ body: Readable; state: S3State }> {
    try {
      const out = await this.#client.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
        }),
      );
      // In Node the SDK's body is an IncomingMessage (a Readable); an empty object may come back without one.
      const body = out.Body instanceof Readable ? out.Body : Readable.from([]);
      return { body, state: toState(key, out) };
    } catch (error) {
      throw toSyncError(error, bucket, key);
    }
  }

  /**
   * Buffers and strings go in one PUT; streams at or above the threshold go
   * multipart through lib-storage, which aborts the upload if anything fails
   * (so no orphan parts accrue storage), and smaller streams in one PUT with
   * a declared length (so nothing is buffered).
   */
  async put(
    bucket: string,
    key: string,
    body: Readable | Buffer | string,
    options: { size: number; metadata: Record<string, string>; ifMatch?: string; ifNoneMatch?: string },
  ): Promise<PutResult> {
    const conditional =
      (options.ifMatch || options.ifNoneMatch) && (await this.#conditions?.supported(bucket)) === true;
    const params = {
      Bucket: bucket,
      Key: key,
      Metadata: options.metadata,
      ...(conditional && options.ifMatch ? { IfMatch: `"${unquoteEtag(options.ifMatch)}"` } : {}),
      ...(conditional && options.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
    };
    // A body that fails mid-way (e.g. the file changed while read) must abort the request:
    // the HTTP handler would otherwise wait for the declared bytes forever, and the body's
    // own error is the one worth reporting.
    const abort = new AbortController();
    let bodyError: unknown;
    if (body instanceof Readable) {
      body.once('error', (error) => {
        bodyError = error;
        abort.abort(error);
      });
    }
    try {
      if (body instanceof Readable && options.size >= this.#multipartThreshold) {
        const upload = new Upload({
          client: this.#client,
          params: { ...params, Body: body, ContentLength: options.size },
          partSize: this.#partSize,
          queueSize: this.#queueSize,
          leavePartsOnError: false,
        });
        const out = await upload.done();
        return { etag: unquoteEtag(out.ETag), ...(out.VersionId ? { versionId: out.VersionId } : {}) };
      }
      const contentLength = typeof body === 'string' ? Buffer.byteLength(body) : options.size;
      const out = await this.#client.send(
        new PutObjectCommand({ ...params, Body: body, ContentLength: contentLength }),
        { abortSignal: abort.signal },
      );
      return { etag: unquoteEtag(out.ETag), ...(out.VersionId ? { versionId: out.VersionId } : {}) };
    } catch (error) {
      throw bodyError ?? toSyncError(error, bucket, key);
    }
  }

  async upload(bucket: string, key: string, body: Readable): Promise<PutResult> {
    try {
      const out = await new Upload({
        client: this.#client,
        params: { Bucket: bucket, Key: key, Body: body },
        partSize: this.#partSize,
        queueSize: this.#queueSize,
        leavePartsOnError: false,
      }).done();
      return { etag: unquoteEtag(out.ETag), ...(out.VersionId ? { versionId: out.VersionId } : {}) };
    } catch (error) {
      throw toSyncError(error, bucket, key);
    }
  }

  /** Server-side copy keeping the metadata; UploadPartCopy above 5 GiB (see s3-copy.ts). */
  async copy(
    bucket: string,
    sourceKey: string,
    key: string,
    options: { size: number; ifMatch?: string },
  ): Promise<PutResult> {
    try {
      return await copyObject(this.#client, bucket, sourceKey, key, options);
    } catch (error) {
      throw toSyncError(error, bucket, sourceKey);
    }
  }

  async delete(bucket: string, key: string, options: { ifMatch?: string } = {}): Promise<void> {
    try {
      await this.#client.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(options.ifMatch ? { IfMatch: options.ifMatch } : {}),
        }),
      );
    } catch (error) {
      throw toSyncError(error, bucket, key);
    }
  }

  /** One page per ListObjectsV2 call (≤ 1000 keys), so a caller never holds the whole listing. */
  async *list(bucket: string, prefix: string): AsyncIterable<ListedObject[]> {
    let token: string | undefined;
    do {
      let out: ListObjectsV2CommandOutput;
      try {
        out = await this.#client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
      } catch (error) {
        throw toSyncError(error, bucket, prefix);
      }
      const page = (out.Contents ?? []).flatMap((object) =>
        object.Key === undefined
          ? []
          : [
              {
                key: object.Key,
                size: object.Size ?? 0,
                etag: unquoteEtag(object.ETag),
                lastModified: (object.LastModified ?? new Date(0)).toISOString(),
              },
            ],
      );
      if (page.length > 0) yield page;
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  /** false only for a bucket that is not there; access denied and transient faults still throw. */
  async bucketExists(bucket: string): Promise<boolean> {
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
      return true;
    } catch (error) {
      if (isNotFound(error) || (error as { name?: string }).name === 'NoSuchBucket') return false;
      throw toSyncError(error, bucket);
    }
  }
}
