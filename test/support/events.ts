import { createHash, randomUUID } from 'node:crypto';
import { AGENT_DETAIL_TYPE, AGENT_SCHEMA_VERSION, AGENT_SOURCE } from '../../src/core/events.ts';
import type { NodeKind } from '../../src/core/types.ts';

/**
 * The events bucketlink receives, shaped as AWS (and the host agent) emit
 * them: S3 events as EventBridge delivers them, agent "File System Change"
 * events, and the SQS records an EventBridge Pipe hands its target. Shared
 * by the integration tests and the property test so the shapes live once.
 */

let seq = 0;

/** A host agent's "File System Change" event for `path` below the association's file-system path. */
export function agentEvent(
  side: { fileSystemPath: string },
  path: string,
  op: string,
  kind?: NodeKind,
  oldPath?: string,
) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': AGENT_DETAIL_TYPE,
    source: AGENT_SOURCE,
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: {
      schema: AGENT_SCHEMA_VERSION,
      host: 'testhost',
      changes: [
        {
          path: `${side.fileSystemPath}/${path}`,
          op,
          ...(oldPath ? { oldPath: `${side.fileSystemPath}/${oldPath}` } : {}),
          ...(kind ? { kind } : {}),
          seq: seq++,
        },
      ],
    },
  };
}

/** What an S3 event may carry beyond bucket and key. */
export interface S3EventExtra {
  etag?: string;
  size?: number;
  reason?: string;
}

/** An S3 event exactly as EventBridge delivers it (the key raw, never URL-encoded). */
export function s3Event(
  detailType: 'Object Created' | 'Object Deleted',
  bucket: string,
  key: string,
  extra: S3EventExtra = {},
) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source: 'aws.s3',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key,
        ...(extra.size !== undefined ? { size: extra.size } : {}),
        ...(extra.etag ? { etag: extra.etag } : {}),
        sequencer: Date.now().toString(16).toUpperCase().padStart(18, '0'),
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      reason: extra.reason ?? (detailType === 'Object Created' ? 'PutObject' : 'DeleteObject'),
      ...(detailType === 'Object Deleted' ? { 'deletion-type': 'Permanently Deleted' } : {}),
    },
  };
}

/** An S3 "Object Created" event. */
export function objectCreated(bucket: string, key: string, extra: S3EventExtra = {}) {
  return s3Event('Object Created', bucket, key, extra);
}

/** An S3 "Object Deleted" event. */
export function objectDeleted(bucket: string, key: string) {
  return s3Event('Object Deleted', bucket, key);
}

/**
 * The SQS record an EventBridge Pipe hands its target, with the attributes
 * SQS always sets (the sync state machine reads SentTimestamp). A string is
 * taken as the raw body (so a test can send one that is not JSON); anything
 * else is serialised.
 */
export function sqsRecord(event: unknown, messageId: string = randomUUID()) {
  const body = typeof event === 'string' ? event : JSON.stringify(event);
  const sent = Date.now();
  return {
    messageId,
    receiptHandle: 'AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a',
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(sent),
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: String(sent),
    },
    messageAttributes: {},
    md5OfBody: createHash('md5').update(body).digest('hex'),
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:bucketlink-buffer',
    awsRegion: 'us-east-1',
  };
}
