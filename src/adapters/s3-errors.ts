import { BucketNotFoundError, PreconditionLostError, SyncError, TransientError } from '../core/errors.ts';

/**
 * Translating AWS SDK errors into bucketlink's errors, so the state machines'
 * Retry/Catch clauses can match on stable codes instead of SDK class names.
 */

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const TRANSIENT_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);

const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** The HTTP status the SDK recorded, if any. */
export function httpStatus(error: unknown): number | undefined {
  return shapeOf(error).$metadata?.httpStatusCode;
}

/** A 404 on a key: HEAD reports it as `NotFound` (no body), GET as `NoSuchKey`. */
export function isNotFound(error: unknown): boolean {
  const { name } = shapeOf(error);
  return (
    name === 'NotFound' || name === 'NoSuchKey' || (httpStatus(error) === 404 && name !== 'NoSuchBucket')
  );
}

function isTransient(error: unknown): boolean {
  const shape = shapeOf(error);
  if (shape.$retryable) return true;
  const status = httpStatus(error);
  if (status !== undefined && (status >= 500 || status === 429)) return true;
  if (shape.name && TRANSIENT_NAMES.has(shape.name)) return true;
  const code = shape.code ?? shape.Code;
  return code !== undefined && (TRANSIENT_SOCKET_CODES.has(code) || TRANSIENT_NAMES.has(code));
}

/**
 * Maps an SDK error to a SyncError where bucketlink acts on the difference:
 * a missing bucket (the association becomes MISCONFIGURED), a failed
 * precondition (the object moved under us: re-plan) and transient faults
 * (retry). Anything else is returned unchanged: its `name` is already a
 * stable S3 code such as `AccessDenied`.
 */
export function toSyncError(error: unknown, bucket: string, key?: string): unknown {
  if (error instanceof SyncError) return error;
  const shape = shapeOf(error);
  const where = key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`;
  if (shape.name === 'NoSuchBucket' || shape.Code === 'NoSuchBucket') {
    return new BucketNotFoundError(bucket, error);
  }
  const status = httpStatus(error);
  if (shape.name === 'PreconditionFailed' || shape.name === 'ConditionalRequestConflict' || status === 412) {
    return Object.assign(new PreconditionLostError(`${where} changed since it was read (${shape.name})`), {
      cause: error,
    });
  }
  if (isTransient(error)) {
    const reason = shape.name ?? shape.code ?? 'error';
    return new TransientError(`transient S3 failure on ${where}: ${reason}: ${shape.message ?? ''}`, error);
  }
  return error;
}
