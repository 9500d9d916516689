/**
 * The IPC messages between `bucketlink local` and its embedded S3 server
 * process (see server.ts and child.ts).
 */

/** What the child is started with (JSON in argv[2]). */
export interface ChildOptions {
  directory: string;
  host: string;
  port: number;
}

export type ChildMessage =
  | { type: 'listening'; port: number }
  | { type: 'listen-error'; code: string; message: string; address: string; port: number }
  /** Notification records; `reason` is set for the per-key records of a DeleteObjects request. */
  | { type: 'records'; seq: number; records: S3rverRecord[]; reason?: 'DeleteObjects' };

export type ParentMessage =
  /** Every records message up to `seq` has been handed to the parent's listeners. */
  { type: 'ack'; seq: number } | { type: 'close' };

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
