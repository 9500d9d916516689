import { z } from 'zod';

/**
 * The event shapes bucketlink consumes, exactly as AWS hands them over.
 * S3 events arrive through EventBridge (keys are raw, never URL-decoded);
 * agent events are put on the bucketlink bus by host agents; both reach the
 * sync state machine as the EventBridge Pipe's batch of SQS messages.
 */

const s3ObjectCreatedDetail = z.object({
  version: z.string().optional(),
  bucket: z.object({ name: z.string().min(1) }),
  object: z.object({
    key: z.string().min(1),
    size: z.number().int().nonnegative().optional(),
    etag: z.string().optional(),
    'version-id': z.string().optional(),
    sequencer: z.string().optional(),
  }),
  'request-id': z.string().optional(),
  requester: z.string().optional(),
  reason: z.string().optional(),
});

const s3ObjectDeletedDetail = s3ObjectCreatedDetail.extend({
  'deletion-type': z.enum(['Permanently Deleted', 'Delete Marker Created']).optional(),
});

const envelope = {
  version: z.string(),
  id: z.string(),
  account: z.string(),
  time: z.string(),
  region: z.string(),
  resources: z.array(z.string()),
};

export const s3ObjectCreatedEvent = z.object({
  ...envelope,
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  detail: s3ObjectCreatedDetail,
});

export const s3ObjectDeletedEvent = z.object({
  ...envelope,
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Deleted'),
  detail: s3ObjectDeletedDetail,
});

export const AGENT_SOURCE = 'bucketlink.agent';
export const AGENT_DETAIL_TYPE = 'File System Change';
/** Version of the agent event schema; bump on incompatible change. */
export const AGENT_SCHEMA_VERSION = 1;

export const fileSystemChange = z.object({
  /** File-system path as the file system sees it, with a leading `/` (e.g. `/logs/a.txt`). */
  path: z.string().startsWith('/'),
  op: z.enum(['created', 'modified', 'deleted', 'renamed', 'attrib']),
  oldPath: z.string().startsWith('/').optional(),
  size: z.number().int().nonnegative().optional(),
  mtimeNs: z.string().regex(/^\d+$/).optional(),
  /** ctime and st_mode as the agent saw them: with size, mtime and ino they let plan drop an echo of bucketlink's own write. */
  ctimeNs: z.string().regex(/^\d+$/).optional(),
  mode: z.number().int().nonnegative().optional(),
  ino: z.string().regex(/^\d+$/).optional(),
  kind: z.enum(['file', 'dir', 'symlink']).optional(),
  seq: z.number().int().nonnegative(),
});

export const agentChangeEvent = z.object({
  ...envelope,
  source: z.literal(AGENT_SOURCE),
  'detail-type': z.literal(AGENT_DETAIL_TYPE),
  detail: z.object({
    schema: z.literal(AGENT_SCHEMA_VERSION),
    host: z.string().min(1),
    changes: z.array(fileSystemChange).min(1),
  }),
});

export const syncEvent = z.union([s3ObjectCreatedEvent, s3ObjectDeletedEvent, agentChangeEvent]);

/** One SQS message as an EventBridge Pipe hands it to its target, body holding the EventBridge event. */
export const pipeRecord = z.object({
  messageId: z.string().min(1),
  receiptHandle: z.string().optional(),
  body: z.string(),
  attributes: z.record(z.string(), z.string()).optional(),
  messageAttributes: z.record(z.string(), z.unknown()).optional(),
  md5OfBody: z.string().optional(),
  eventSource: z.string().optional(),
  eventSourceARN: z.string().optional(),
  awsRegion: z.string().optional(),
});

/** The Pipe's batch: an array of SQS records. */
export const pipeBatch = z.array(pipeRecord);

export type S3ObjectCreatedEvent = z.infer<typeof s3ObjectCreatedEvent>;
export type S3ObjectDeletedEvent = z.infer<typeof s3ObjectDeletedEvent>;
export type S3Event = S3ObjectCreatedEvent | S3ObjectDeletedEvent;
export type FileSystemChange = z.infer<typeof fileSystemChange>;
export type AgentChangeEvent = z.infer<typeof agentChangeEvent>;
export type SyncEvent = z.infer<typeof syncEvent>;
export type PipeRecord = z.infer<typeof pipeRecord>;
