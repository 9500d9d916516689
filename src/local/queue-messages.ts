import { MalformedEventError } from '../core/errors.ts';
import { type S3Event, s3ObjectCreatedEvent, s3ObjectDeletedEvent } from '../core/events.ts';
import { type S3rverRecord, toEventBridgeEvent } from './s3-events.ts';

/**
 * The two shapes S3 changes take in an SQS queue, told apart per message:
 * an EventBridge event a rule sent ("Object Created"/"Object Deleted", the
 * key raw), or a classic S3 event notification sent straight to the queue
 * (`Records[]`, the key URL-encoded with `+` for a space). Both become the
 * EventBridge events the rest of the pipeline reads.
 */

export type QueueMessage =
  | { kind: 's3'; events: S3Event[] }
  /** Nothing to do: s3:TestEvent, other detail-types (Object Tags Added …), other record sources. */
  | { kind: 'ignored'; reason: string };

const S3_DETAIL_TYPES = new Set(['Object Created', 'Object Deleted']);

/** A classic notification's key, as S3 encodes it (form encoding: `+` is a space). */
export function decodeNotificationKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, ' '));
}

interface ClassicRecord extends S3rverRecord {
  eventSource?: string;
}

function fromClassicRecord(record: ClassicRecord): S3Event | undefined {
  const name = record.eventName.replace(/^s3:/, '');
  if (!name.startsWith('ObjectCreated:') && !name.startsWith('ObjectRemoved:')) return undefined;
  const object = { ...record.s3.object, key: decodeNotificationKey(record.s3.object.key) };
  // The translator knows the API names S3 reports; an unlisted creation (e.g. a future one) is a plain upload.
  const known = [
    'ObjectCreated:Put',
    'ObjectCreated:Copy',
    'ObjectCreated:Post',
    'ObjectCreated:CompleteMultipartUpload',
  ];
  const eventName = name.startsWith('ObjectCreated:') && !known.includes(name) ? 'ObjectCreated:Put' : name;
  const event = toEventBridgeEvent({ ...record, eventName, s3: { ...record.s3, object } });
  if (name === 'ObjectRemoved:DeleteMarkerCreated' && event['detail-type'] === 'Object Deleted') {
    event.detail['deletion-type'] = 'Delete Marker Created';
    if (record.s3.object.versionId) event.detail.object['version-id'] = record.s3.object.versionId;
  }
  return event;
}

function fromEventBridge(body: Record<string, unknown>): S3Event {
  const detail = (body.detail ?? {}) as { object?: Record<string, unknown> };
  // moto names the field eTag (AWS: etag); accept both.
  if (detail.object && detail.object.etag === undefined && typeof detail.object.eTag === 'string') {
    detail.object = { ...detail.object, etag: detail.object.eTag };
  }
  const schema = body['detail-type'] === 'Object Created' ? s3ObjectCreatedEvent : s3ObjectDeletedEvent;
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new MalformedEventError(`not an S3 event: ${parsed.error.message}`);
  return parsed.data;
}

/**
 * Reads one SQS message body. Throws MalformedEventError for a body that is
 * neither shape: that message is not deleted, so the queue's redrive policy
 * takes it to the dead-letter queue.
 */
export function readQueueMessage(body: string): QueueMessage {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new MalformedEventError('message body is not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null)
    throw new MalformedEventError('message body is not an object');
  const message = parsed as Record<string, unknown>;
  if (message.Event === 's3:TestEvent') return { kind: 'ignored', reason: 's3:TestEvent' };
  if (message.source === 'aws.s3') {
    if (!S3_DETAIL_TYPES.has(String(message['detail-type'])))
      return { kind: 'ignored', reason: `detail-type ${String(message['detail-type'])}` };
    return { kind: 's3', events: [fromEventBridge(message)] };
  }
  if (Array.isArray(message.Records)) {
    const events: S3Event[] = [];
    for (const record of message.Records as ClassicRecord[]) {
      if (record?.eventSource !== undefined && record.eventSource !== 'aws:s3') continue;
      if (typeof record?.eventName !== 'string' || typeof record.s3?.object?.key !== 'string')
        throw new MalformedEventError('S3 notification record without eventName or s3.object.key');
      const event = fromClassicRecord(record);
      if (event) events.push(event);
    }
    return events.length ? { kind: 's3', events } : { kind: 'ignored', reason: 'no object records' };
  }
  throw new MalformedEventError('neither an EventBridge S3 event nor an S3 notification');
}
