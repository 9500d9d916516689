import { randomBytes, randomUUID } from 'node:crypto';
import type { S3Event } from '../core/events.ts';
import { logger } from '../log.ts';
import type { S3rverNotification, S3rverRecord } from './s3/protocol.ts';
import type { S3Server } from './s3/server.ts';

export type { S3rverNotification, S3rverRecord } from './s3/protocol.ts';

/**
 * Turns s3rver's notifications into the EventBridge "Object Created" /
 * "Object Deleted" events AWS delivers (docs: S3 user guide, "EventBridge
 * event message structure"), so local mode feeds the pipeline exactly what
 * production does. Keys are passed through untouched: s3rver does not
 * URL-encode them and EventBridge carries them raw.
 */

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

/**
 * Wires an embedded S3 server to `emit`: s3rver's notifications and the
 * per-key records of DeleteObjects requests, translated. `emit`'s errors are
 * logged, never thrown back into the S3 request. Returns a function that
 * stops forwarding.
 */
export function startS3EventSource(
  server: S3Server,
  emit: (event: S3Event) => void,
  options: EventOptions = {},
): () => void {
  const onRecords = (records: S3rverRecord[], reason?: 'DeleteObjects') => {
    for (const record of records) {
      try {
        const event = toEventBridgeEvent(record, options);
        if (reason) event.detail.reason = reason;
        emit(event);
      } catch (error) {
        logger.error('S3 event not forwarded', {
          action: 'emitS3Event',
          key: record.s3.object.key,
          error: error as Error,
        });
      }
    }
  };
  server.events.on('records', onRecords);
  return () => server.events.off('records', onRecords);
}
