import { randomBytes, randomUUID } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type S3rver from 's3rver';
import type { S3Event } from '../core/events.ts';
import { logger } from '../log.ts';
import type { S3Server } from './peers.ts';

/**
 * Turns s3rver's notifications into the EventBridge "Object Created" /
 * "Object Deleted" events AWS delivers (docs: S3 user guide, "EventBridge
 * event message structure"), so local mode feeds the pipeline exactly what
 * production does. Keys are passed through untouched: s3rver does not
 * URL-encode them and EventBridge carries them raw.
 */

/** One record of an s3rver notification (the classic S3 notification shape). */
export interface S3rverRecord {
  eventName: string;
  eventTime: string;
  awsRegion?: string;
  userIdentity?: { principalId?: string };
  requestParameters?: { sourceIPAddress?: string };
  responseElements?: { 'x-amz-request-id'?: string };
  s3: {
    bucket: { name: string };
    object: { key: string; size?: number; eTag?: string; sequencer?: string; versionId?: string };
  };
}

/** What s3rver emits: one notification wrapping one record. */
export interface S3rverNotification {
  Records: S3rverRecord[];
}

export interface EventOptions {
  /** 12-digit account id for the envelope; local mode has none, so a fixed placeholder. */
  account?: string;
  region?: string;
}

const DEFAULT_ACCOUNT = '000000000000';
const DEFAULT_REGION = 'us-east-1';

/** s3rver's event name → the S3 API AWS names in `detail.reason`. */
const CREATED_REASONS: Record<string, string> = {
  'ObjectCreated:Put': 'PutObject',
  'ObjectCreated:Copy': 'CopyObject',
  // s3rver reports both a browser POST upload and a multipart completion as
  // Post; bucketlink never uses POST uploads, so Post means multipart here.
  'ObjectCreated:Post': 'CompleteMultipartUpload',
  'ObjectCreated:CompleteMultipartUpload': 'CompleteMultipartUpload',
};

/** AWS request ids are 16 upper-case hex-ish characters. */
function requestId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/**
 * Translates one s3rver notification (or one of its records) into the
 * EventBridge event AWS would send. Throws on an event name bucketlink does
 * not consume, so a new s3rver event type cannot slip through unnoticed.
 */
export function toEventBridgeEvent(
  record: S3rverNotification | S3rverRecord,
  options: EventOptions = {},
): S3Event {
  const r = 'Records' in record ? record.Records[0] : record;
  if (!r) throw new Error('s3rver notification without records');
  const account = options.account ?? DEFAULT_ACCOUNT;
  const region = options.region ?? DEFAULT_REGION;
  const bucket = r.s3.bucket.name;
  const { key, size, eTag, sequencer, versionId } = r.s3.object;
  const envelope = {
    version: '0',
    id: randomUUID(),
    source: 'aws.s3' as const,
    account,
    // EventBridge stamps whole seconds, as in AWS's examples.
    time: new Date(r.eventTime).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:s3:::${bucket}`],
  };
  const common = {
    'request-id': r.responseElements?.['x-amz-request-id'] ?? requestId(),
    requester: account,
    'source-ip-address': r.requestParameters?.sourceIPAddress ?? '127.0.0.1',
  };
  if (r.eventName.startsWith('ObjectRemoved:')) {
    return {
      ...envelope,
      'detail-type': 'Object Deleted',
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: { key, ...(sequencer ? { sequencer } : {}) },
        ...common,
        reason: 'DeleteObject',
        'deletion-type': 'Permanently Deleted',
      },
    };
  }
  const reason = CREATED_REASONS[r.eventName];
  if (!reason) throw new Error(`unsupported s3rver event ${r.eventName}`);
  return {
    ...envelope,
    'detail-type': 'Object Created',
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key,
        ...(size !== undefined ? { size: Number(size) } : {}),
        // Copy events from s3rver carry no ETag; leave it out rather than invent one.
        ...(eTag ? { etag: eTag.replace(/"/g, '') } : {}),
        ...(versionId ? { 'version-id': versionId } : {}),
        ...(sequencer ? { sequencer } : {}),
      },
      ...common,
      reason,
    },
  };
}

/** A Koa context, as much of it as the DeleteObjects hook reads. */
interface DeleteContext {
  method: string;
  query: Record<string, unknown>;
  params?: { bucket?: string };
  ip?: string;
  body?: unknown;
}

function deletedKeys(body: unknown): string[] {
  const result = (body as { DeleteResult?: { Deleted?: unknown } } | undefined)?.DeleteResult;
  if (!result?.Deleted) return [];
  const deleted = ([] as unknown[]).concat(result.Deleted);
  return deleted
    .map((entry) => (entry as { Key?: unknown }).Key)
    .filter((key): key is string => typeof key === 'string' && key.length > 0);
}

/**
 * s3rver emits nothing for a multi-object delete (`POST /bucket?delete`,
 * what `aws s3 rm --recursive` sends), so this middleware reads the keys
 * s3rver reports as deleted and emits one "Object Deleted" per key, as AWS
 * does. It sits just before s3rver's router, inside its XML encoder, so the
 * result is still a plain object when `next()` returns.
 *
 * Works before or after `run()`: Koa composes its middleware once, when the
 * server starts listening, so a running server gets a freshly composed
 * request handler.
 */
export function attachDeleteObjectsEvents(
  app: S3rver,
  emit: (event: S3Event) => void,
  options: EventOptions = {},
): void {
  const account = options.account ?? DEFAULT_ACCOUNT;
  const middleware = async (ctx: DeleteContext, next: () => Promise<void>) => {
    await next();
    if (ctx.method !== 'POST' || !('delete' in ctx.query) || !ctx.params?.bucket) return;
    const bucket = ctx.params.bucket;
    // One request, one request id, as AWS reports for every key of a batch.
    const id = requestId();
    const now = new Date();
    for (const key of deletedKeys(ctx.body)) {
      const event = toEventBridgeEvent(
        {
          eventName: 'ObjectRemoved:Delete',
          eventTime: now.toISOString(),
          requestParameters: { sourceIPAddress: ctx.ip ?? '127.0.0.1' },
          responseElements: { 'x-amz-request-id': id },
          s3: { bucket: { name: bucket }, object: { key, sequencer: sequencerNow() } },
        },
        { ...options, account },
      );
      event.detail.reason = 'DeleteObjects';
      try {
        emit(event);
      } catch (error) {
        // The objects are gone either way; a consumer's failure must not turn the S3 response into an error.
        logger.error('S3 event not forwarded', { action: 'emitS3Event', key, error: error as Error });
      }
    }
  };
  const routerIndex = app.middleware.findIndex((fn) => 'router' in fn);
  app.middleware.splice(routerIndex >= 0 ? routerIndex : app.middleware.length, 0, middleware);
  const server = app.httpServer;
  if (server?.listening) {
    // Koa's callback(), which src/types/peers.d.ts does not declare.
    const handler = (app as unknown as { callback(): RequestListener }).callback();
    for (const listener of server.listeners('request')) {
      server.off('request', listener as (...args: unknown[]) => void);
    }
    server.on('request', handler);
  }
}

let lastSequencer = 0n;

/** Like s3rver's (a hex timestamp), but strictly increasing within this process. */
function sequencerNow(): string {
  const now = BigInt(Date.now());
  lastSequencer = now > lastSequencer ? now : lastSequencer + 1n;
  return lastSequencer.toString(16).toUpperCase();
}

/**
 * Wires an s3rver instance to `emit`: its own notifications, translated, and
 * the DeleteObjects events it does not produce. `emit` runs inside s3rver's
 * request handling, so its errors are logged, never thrown back into the
 * S3 request. Returns a function that stops forwarding s3rver's
 * notifications.
 */
export function startS3EventSource(
  server: S3Server,
  emit: (event: S3Event) => void,
  options: EventOptions = {},
): () => void {
  const forward = (event: S3Event | (() => S3Event)) => {
    try {
      emit(typeof event === 'function' ? event() : event);
    } catch (error) {
      logger.error('S3 event not forwarded', { action: 'emitS3Event', error: error as Error });
    }
  };
  const onEvent = (notification: S3rverNotification) => {
    for (const record of notification.Records) forward(() => toEventBridgeEvent(record, options));
  };
  server.events.on('event', onEvent);
  attachDeleteObjectsEvents(server.app, forward, options);
  return () => server.events.off('event', onEvent);
}
