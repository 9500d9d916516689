import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type S3rver from 's3rver';
import S3Error from 's3rver/lib/models/error.js';
import S3Object from 's3rver/lib/models/object.js';
import {
  AwsChunkedDecoder,
  contentEncodingWithoutChunked,
  isAwsChunked,
  MalformedChunkError,
} from './aws-chunked.ts';
import {
  algorithmOfHeader,
  CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  Checksums,
  checksumHeader,
  displayName,
} from './checksums.ts';

/**
 * What a client writes is what is stored: a Koa middleware in front of
 * s3rver (which stores an aws-chunked body frame and all) that decodes the
 * body, checks the checksum the client sent (header or trailer) as S3 does,
 * and only then hands s3rver the plain bytes. The body is spooled to a
 * temporary file first, so a BadDigest leaves the previous object untouched.
 * PutObject keeps its checksum (as object metadata) and answers it; GET and
 * HEAD return it when asked (`x-amz-checksum-mode: ENABLED`), never on a
 * range. Requests without framing or checksum go straight through.
 */

interface KoaContext {
  method: string;
  path: string;
  query: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  req: NodeJS.ReadableStream;
  status: number;
  response: { headers: Record<string, unknown> };
  set(name: string, value: string): void;
  remove(name: string): void;
}

/** An object (not bucket) path: `/bucket/key…`, path-style as the embedded endpoint serves. */
function isObjectPath(path: string): boolean {
  return /^\/[^/]+\/.+/.test(path);
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The algorithm this upload is checked with, from its headers; S3's InvalidRequest when they disagree. */
function requestedAlgorithm(headers: IncomingHttpHeaders): {
  algorithm?: ChecksumAlgorithm;
  inTrailer: boolean;
} {
  const inHeaders = Object.keys(headers).filter((name) => algorithmOfHeader(name));
  const trailers = (header(headers, 'x-amz-trailer') ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  for (const name of trailers) {
    if (!algorithmOfHeader(name))
      throw new S3Error(
        'InvalidRequest',
        `The value specified in the x-amz-trailer header is not supported: ${name}`,
      );
  }
  const named = [...inHeaders, ...trailers].map((name) => algorithmOfHeader(name)!);
  if (named.length > 1)
    throw new S3Error(
      'InvalidRequest',
      'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
    );
  const sdk = header(headers, 'x-amz-sdk-checksum-algorithm')?.toLowerCase();
  if (
    sdk !== undefined &&
    (!CHECKSUM_ALGORITHMS.includes(sdk as ChecksumAlgorithm) || (named[0] && named[0] !== sdk))
  )
    throw new S3Error('InvalidRequest', 'Value for x-amz-sdk-checksum-algorithm header is invalid.');
  return { algorithm: named[0] ?? (sdk as ChecksumAlgorithm | undefined), inTrailer: trailers.length > 0 };
}

/** Decodes and checks one upload body into `file`; returns the checksum to keep, if any. */
async function spool(
  ctx: KoaContext,
  file: string,
): Promise<{ algorithm?: ChecksumAlgorithm; value?: string }> {
  const { headers } = ctx;
  const chunked = isAwsChunked(headers);
  const { algorithm, inTrailer } = requestedAlgorithm(headers);
  const decoder = chunked ? new AwsChunkedDecoder() : undefined;
  const checksums = new Checksums(algorithm ? [algorithm] : []);
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      checksums.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  // Piped, not pipelined: a malformed frame must leave the request readable, so the client gets the error.
  const body = ctx.req as Readable;
  const source = decoder ?? new PassThrough();
  const abort = () => source.destroy(new Error('the client aborted the upload'));
  body.once('aborted', abort).once('error', abort);
  body.pipe(source);
  try {
    await pipeline(source, measure, createWriteStream(file));
  } catch (error) {
    body.unpipe(source);
    body.resume();
    if (error instanceof MalformedChunkError) throw new S3Error('IncompleteBody', error.message);
    throw error;
  } finally {
    body.off('aborted', abort).off('error', abort);
  }
  const declared = header(headers, 'x-amz-decoded-content-length');
  if (chunked && declared !== undefined && Number(declared) !== size)
    throw new S3Error(
      'IncompleteBody',
      'You did not provide the number of bytes specified by the Content-Length HTTP header',
    );
  if (!algorithm) return {};
  const computed = (await checksums.digests()).get(algorithm)!;
  const name = checksumHeader(algorithm);
  const sent = inTrailer ? decoder?.trailers[name] : header(headers, name);
  if (inTrailer && sent === undefined)
    throw new S3Error(
      'InvalidRequest',
      `The x-amz-trailer header names ${name}, which the body does not carry.`,
    );
  if (sent !== undefined && sent !== computed)
    throw new S3Error(
      'BadDigest',
      `The ${displayName(algorithm)} you specified did not match the calculated checksum.`,
    );
  // Now what s3rver sees is a plain upload of the decoded bytes.
  headers['content-length'] = String(size);
  delete headers['transfer-encoding'];
  delete headers['x-amz-decoded-content-length'];
  delete headers['x-amz-trailer'];
  const encoding = contentEncodingWithoutChunked(header(headers, 'content-encoding'));
  if (encoding) headers['content-encoding'] = encoding;
  else delete headers['content-encoding'];
  headers[name] = computed;
  return { algorithm, value: computed };
}

/** Installs the middleware in front of s3rver's router; call before the server listens. */
export async function attachUploadIntegrity(app: S3rver): Promise<{ close(): Promise<void> }> {
  // PutObject's checksum is kept in s3rver's metadata.json, beside Content-Type.
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    if (!S3Object.ALLOWED_METADATA.includes(checksumHeader(algorithm)))
      S3Object.ALLOWED_METADATA.push(checksumHeader(algorithm));
  }
  const spoolDir = await mkdtemp(join(tmpdir(), 'bucketlink-s3-uploads-'));
  let uploads = 0;

  const middleware = async (ctx: KoaContext, next: () => Promise<void>) => {
    if (!isObjectPath(ctx.path)) return next();
    if (ctx.method === 'GET' || ctx.method === 'HEAD') {
      await next();
      return answerChecksum(ctx);
    }
    const wantsCheck =
      isAwsChunked(ctx.headers) || Object.keys(ctx.headers).some((name) => algorithmOfHeader(name));
    if (ctx.method !== 'PUT' || ctx.headers['x-amz-copy-source'] || !wantsCheck) return next();
    const file = join(spoolDir, String(++uploads));
    try {
      const { algorithm, value } = await spool(ctx, file);
      ctx.req = createReadStream(file);
      await next();
      if (algorithm && value && ctx.status >= 200 && ctx.status < 300) {
        ctx.set(checksumHeader(algorithm), value);
        if (!('partNumber' in ctx.query)) ctx.set('x-amz-checksum-type', 'FULL_OBJECT');
      }
    } finally {
      await rm(file, { force: true });
    }
  };
  const routerIndex = app.middleware.findIndex((fn) => 'router' in fn);
  app.middleware.splice(routerIndex >= 0 ? routerIndex : app.middleware.length, 0, middleware);
  return { close: () => rm(spoolDir, { recursive: true, force: true }) };
}

/** S3 returns a stored checksum only in checksum mode, and not for a range of the object. */
function answerChecksum(ctx: KoaContext): void {
  const names = Object.keys(ctx.response.headers).filter((name) => algorithmOfHeader(name));
  if (!names.length) return;
  const asked = String(ctx.headers['x-amz-checksum-mode'] ?? '').toUpperCase() === 'ENABLED';
  if (asked && ctx.status === 200 && !ctx.headers.range) {
    ctx.set('x-amz-checksum-type', 'FULL_OBJECT');
    return;
  }
  for (const name of names) ctx.remove(name);
}
