import { join } from 'node:path';
import { HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { type ClientOptions, createS3Client } from '../adapters/clients.ts';
import { SyncError } from '../core/errors.ts';
import { type S3Server, startS3Server } from './peers.ts';

/**
 * Where local mode's objects live: the embedded s3rver (the default), any
 * S3-compatible endpoint, or AWS S3 itself. Credentials for an external
 * store come only from the standard AWS chain (environment, shared config
 * and `--profile`, SSO, container and instance roles), never from a flag.
 */

/** `--s3-endpoint` value that means AWS S3 itself. */
export const AWS_ENDPOINT = 'aws';
/** Region for an S3-compatible server when neither `--region` nor the chain names one (most ignore it). */
const COMPATIBLE_DEFAULT_REGION = 'us-east-1';

export interface S3SourceOptions {
  /** Unset: the embedded s3rver. `aws`: AWS S3. Otherwise the URL of an S3-compatible server. */
  endpoint?: string;
  region?: string;
  profile?: string;
  /** Bucket in the path, not the host name. Always on for an IP address or localhost. */
  pathStyle?: boolean;
  /** The embedded server's directory, address and port. */
  directory: string;
  host: string;
  port: number;
}

export type S3Source =
  | { kind: 'embedded'; server: S3Server; endpoint: string; clientOptions: ClientOptions }
  | { kind: 'external'; endpoint: string; clientOptions: ClientOptions };

/** A start-up problem: `bucketlink: S3EndpointUnusable: …`, one line. */
export class S3EndpointError extends SyncError {
  constructor(message: string, cause?: unknown) {
    super('S3EndpointUnusable', message, { cause });
  }
}

/** Host names that cannot carry a bucket as a subdomain. */
function needsPathStyle(url: URL): boolean {
  return url.hostname === 'localhost' || /^[\d.]+$/.test(url.hostname) || url.hostname.startsWith('[');
}

/**
 * The client settings for an external store, region resolved once: `--region`,
 * else the chain's (AWS_REGION, the profile's `region`), else for an
 * S3-compatible server us-east-1. AWS S3 without any region is refused.
 */
export async function externalClientOptions(
  options: Pick<S3SourceOptions, 'endpoint' | 'region' | 'profile' | 'pathStyle'>,
): Promise<ClientOptions> {
  const aws = options.endpoint === AWS_ENDPOINT;
  let url: URL | undefined;
  if (!aws) {
    try {
      url = new URL(options.endpoint ?? '');
    } catch {
      throw new S3EndpointError(`--s3-endpoint ${options.endpoint} is neither "aws" nor a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new S3EndpointError(`--s3-endpoint ${options.endpoint} must be http(s)://…`);
  }
  const region =
    options.region ?? (await chainRegion(options.profile)) ?? (aws ? undefined : COMPATIBLE_DEFAULT_REGION);
  if (!region)
    throw new S3EndpointError('no AWS region: pass --region, or set AWS_REGION or a region in the profile');
  return {
    ...(url ? { endpoint: url.toString().replace(/\/$/, '') } : {}),
    region,
    credentialChain: true,
    ...(options.profile ? { profile: options.profile } : {}),
    forcePathStyle: Boolean(options.pathStyle) || (url !== undefined && needsPathStyle(url)),
  };
}

/** The region the SDK's own chain finds, or undefined. */
async function chainRegion(profile: string | undefined): Promise<string | undefined> {
  const probe = new S3Client(profile ? { profile } : {});
  try {
    return await probe.config.region();
  } catch {
    return undefined;
  } finally {
    probe.destroy();
  }
}

/** Starts the embedded s3rver, or checks that the external store answers to these credentials. */
export async function startS3Source(options: S3SourceOptions): Promise<S3Source> {
  if (options.endpoint === undefined) {
    const server = await startS3Server({
      directory: join(options.directory),
      host: options.host,
      port: options.port,
    });
    return {
      kind: 'embedded',
      server,
      endpoint: server.endpoint,
      clientOptions: { endpoint: server.endpoint },
    };
  }
  const clientOptions = await externalClientOptions(options);
  const endpoint = clientOptions.endpoint ?? `https://s3.${clientOptions.region}.amazonaws.com`;
  await probeStore(createS3Client(clientOptions), endpoint);
  return { kind: 'external', endpoint, clientOptions };
}

/** S3 error codes that mean the credentials themselves are wrong (not merely short of a permission). */
const BAD_CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
]);

/**
 * One cheap request that tells a wrong endpoint and bad credentials apart
 * from a working store: ListBuckets. AccessDenied passes (the credentials are
 * valid; bucketlink needs no ListAllMyBuckets), anything else is one line.
 */
export async function probeStore(client: S3Client, endpoint: string): Promise<void> {
  try {
    await client.send(new ListBucketsCommand({ MaxBuckets: 1 }));
  } catch (error) {
    const problem = describeS3Problem(error, endpoint);
    if (problem) throw new S3EndpointError(problem, error);
  } finally {
    client.destroy();
  }
}

/** One clear sentence for an S3 failure, or undefined when the store answered and merely refused. */
export function describeS3Problem(error: unknown, endpoint: string, bucket?: string): string | undefined {
  const shape = error as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = shape.name ?? '';
  if (name === 'CredentialsProviderError')
    return `no AWS credentials found (environment, shared config or --profile, SSO, container or instance role): ${shape.message}`;
  if (BAD_CREDENTIALS.has(name)) return `${endpoint} refused the credentials (${name}): ${shape.message}`;
  if (bucket && (name === 'NotFound' || name === 'NoSuchBucket' || shape.$metadata?.httpStatusCode === 404))
    return `bucket ${bucket} does not exist at ${endpoint}`;
  if (name === 'AccessDenied' || shape.$metadata?.httpStatusCode === 403)
    return bucket ? `access to bucket ${bucket} at ${endpoint} is denied (${name})` : undefined;
  if (shape.$metadata?.httpStatusCode === undefined)
    return `${endpoint} cannot be reached (${shape.code ?? name}): ${shape.message}`;
  return shape.$metadata.httpStatusCode >= 400 ? `${endpoint} answered ${name}: ${shape.message}` : undefined;
}

/** Start-up check of one association's bucket; a sentence when it is unusable. */
export async function bucketProblem(
  clientOptions: ClientOptions,
  endpoint: string,
  bucket: string,
): Promise<string | undefined> {
  const client = createS3Client(clientOptions);
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return undefined;
  } catch (error) {
    return (
      describeS3Problem(error, endpoint, bucket) ??
      `bucket ${bucket} at ${endpoint}: ${(error as Error).message}`
    );
  } finally {
    client.destroy();
  }
}
