import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { observed } from './observe.ts';

/** Credentials for loopback peers; they check none. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface ClientOptions {
  /** Omit for real AWS. */
  endpoint?: string;
  region?: string;
  /**
   * Take credentials from the standard AWS chain (environment, shared config
   * and `profile`, SSO, container and instance roles) even with an endpoint.
   * Without it an endpoint means a loopback peer, which checks none.
   */
  credentialChain?: boolean;
  /** Shared-config profile (as AWS_PROFILE), with `credentialChain` or on AWS. */
  profile?: string;
  /** S3 only: bucket in the path, not the host name. Default: on for an endpoint without the chain. */
  forcePathStyle?: boolean;
}

/** Endpoint, credentials and profile for one client, as the options ask. */
function connection(options: ClientOptions) {
  return {
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.endpoint && !options.credentialChain ? { credentials: LOCAL_CREDENTIALS } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
  };
}

/**
 * S3 client. WHEN_REQUIRED checksums: otherwise streamed bodies go out with
 * aws-chunked framing, which s3rver stores verbatim (docs/architecture.md §8).
 */
export function createS3Client(options: ClientOptions = {}): S3Client {
  return observed(
    's3',
    new S3Client({
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...connection(options),
      forcePathStyle: options.forcePathStyle ?? (options.endpoint !== undefined && !options.credentialChain),
      // On AWS a bucket in another region answers with a redirect, which the client follows.
      ...(options.endpoint ? {} : { followRegionRedirects: true }),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Never wait forever on a peer that stopped answering: fail, and let Retry handle it.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    }),
  );
}

export function createDocumentClient(options: ClientOptions = {}): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    ...connection(options),
  });
  return DynamoDBDocumentClient.from(observed('dynamodb', client), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** Step Functions of the deployed stack (no local peer: `bucketlink local` runs its machines in process). */
export function createSfnClient(): SFNClient {
  return observed('states', new SFNClient({}));
}

export function createEventBridgeClient(options: ClientOptions = {}): EventBridgeClient {
  return observed(
    'events',
    new EventBridgeClient(
      options.endpoint ? { endpoint: options.endpoint, credentials: LOCAL_CREDENTIALS } : {},
    ),
  );
}

export function createSqsClient(options: ClientOptions = {}): SQSClient {
  return observed(
    'sqs',
    new SQSClient({
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      ...connection(options),
    }),
  );
}
