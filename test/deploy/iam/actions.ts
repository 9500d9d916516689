import { type Call, TREE_WRITES } from './recorder.ts';
import { ACCOUNT, PARTITION, REGION } from './template-values.ts';

/**
 * Each recorded call → the IAM requests it needs: action, resource ARN and
 * the request's context keys. From the Service Authorization Reference
 * (actions, resources and condition keys per service) and the S3 and
 * DynamoDB API references; a command missing here fails the check, so a new
 * call cannot go unproved.
 */

export interface IamRequest {
  action: string;
  resource: string;
  context?: Record<string, string>;
}

/** The EFS side of a function: its access point and the file system behind it. */
export interface Mount {
  accessPointArn: string;
  fileSystemArn: string;
}

const s3Bucket = (bucket: unknown) => `arn:${PARTITION}:s3:::${bucket}`;
const s3Object = (bucket: unknown, key: unknown) => `arn:${PARTITION}:s3:::${bucket}/${key}`;
const table = (name: unknown, index?: unknown) =>
  `arn:${PARTITION}:dynamodb:${REGION}:${ACCOUNT}:table/${name}${index ? `/index/${index}` : ''}`;

/** `bucket/key?versionId=…`, URL-encoded as CopySource is → the source object's ARN. */
function copySource(source: unknown): string {
  const [path] = decodeURIComponent(String(source).replace(/^\//, '')).split('?');
  return `arn:${PARTITION}:s3:::${path}`;
}

/** S3 object commands and the action each one is authorized as. */
const S3_OBJECT: Record<string, string> = {
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  PutObject: 's3:PutObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  DeleteObject: 's3:DeleteObject',
  GetObjectTagging: 's3:GetObjectTagging',
};
const S3_BUCKET: Record<string, string> = {
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  GetBucketNotificationConfiguration: 's3:GetBucketNotification',
  PutBucketNotificationConfiguration: 's3:PutBucketNotification',
};
/** DynamoDB item and query commands: the action is the command's name, the resource its table or index. */
const DYNAMODB_SINGLE = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan']);
const DYNAMODB_BATCH = new Set(['BatchGetItem', 'BatchWriteItem']);

export function requestsFor(call: Call, mount: Mount | undefined): IamRequest[] {
  // biome-ignore lint/suspicious/noExplicitAny: SDK inputs of every command.
  const input = call.input as Record<string, any>;
  switch (call.service) {
    case 's3': {
      if (S3_OBJECT[call.command])
        return [{ action: S3_OBJECT[call.command]!, resource: s3Object(input.Bucket, input.Key) }];
      if (S3_BUCKET[call.command])
        return [{ action: S3_BUCKET[call.command]!, resource: s3Bucket(input.Bucket) }];
      if (call.command === 'CopyObject' || call.command === 'UploadPartCopy')
        return [
          { action: 's3:GetObject', resource: copySource(input.CopySource) },
          { action: 's3:PutObject', resource: s3Object(input.Bucket, input.Key) },
        ];
      if (call.command === 'DeleteObjects')
        return (input.Delete?.Objects ?? []).map((o: { Key: string }) => ({
          action: 's3:DeleteObject',
          resource: s3Object(input.Bucket, o.Key),
        }));
      break;
    }
    case 'dynamodb': {
      if (DYNAMODB_SINGLE.has(call.command))
        return [{ action: `dynamodb:${call.command}`, resource: table(input.TableName, input.IndexName) }];
      if (DYNAMODB_BATCH.has(call.command))
        return Object.keys(input.RequestItems ?? {}).map((name) => ({
          action: `dynamodb:${call.command}`,
          resource: table(name),
        }));
      break;
    }
    case 'states':
      if (call.command === 'StartExecution' || call.command === 'StartSyncExecution')
        return [{ action: `states:${call.command}`, resource: String(input.stateMachineArn) }];
      if (call.command === 'DescribeExecution' || call.command === 'StopExecution')
        return [{ action: `states:${call.command}`, resource: String(input.executionArn) }];
      break;
    case 'sqs':
      if (['ReceiveMessage', 'DeleteMessage', 'GetQueueAttributes'].includes(call.command))
        return [{ action: `sqs:${call.command}`, resource: String(input.QueueArn) }];
      break;
    case 'events':
      if (call.command === 'PutEvents') {
        const buses = new Set<string>(
          (input.Entries ?? []).map((e: { EventBusName?: string }) => e.EventBusName ?? 'default'),
        );
        return [...buses].map((bus) => ({
          action: 'events:PutEvents',
          resource: bus.startsWith('arn:')
            ? bus
            : `arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/${bus}`,
        }));
      }
      break;
    case 'lambda':
      if (call.command === 'Invoke')
        return [{ action: 'lambda:InvokeFunction', resource: String(input.FunctionName) }];
      break;
    case 'elasticfilesystem': {
      if (!mount)
        throw new Error(`${call.caller} used the file tree (${call.command}) but mounts no file system`);
      const context = { 'elasticfilesystem:AccessPointArn': mount.accessPointArn };
      const write = TREE_WRITES.has(call.command);
      return [
        { action: 'elasticfilesystem:ClientMount', resource: mount.fileSystemArn, context },
        ...(write
          ? [{ action: 'elasticfilesystem:ClientWrite', resource: mount.fileSystemArn, context }]
          : []),
      ];
    }
  }
  throw new Error(
    `no IAM mapping for ${call.service} ${call.command} (called by ${call.caller}): add it to test/deploy/iam/actions.ts`,
  );
}
