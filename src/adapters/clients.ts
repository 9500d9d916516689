import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { observed } from './observe.ts';

/** Credentials for loopback peers; they check none. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface ClientOptions {
  /** Omit for real AWS. */
  endpoint?: string;
  region?: string;
}

/**
 * S3 client. WHEN_REQUIRED checksums: otherwise streamed bodies go out with
 * aws-chunked framing, which s3rver stores verbatim (DESIGN §8).
 */
export function createS3Client(options: ClientOptions = {}): S3Client {
  return observed(
    's3',
    new S3Client({
      region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
      // On AWS a bucket in another region answers with a redirect, which the client follows.
      ...(options.endpoint
        ? { endpoint: options.endpoint, forcePathStyle: true, credentials: LOCAL_CREDENTIALS }
        : { followRegionRedirects: true }),
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
    ...(options.endpoint ? { endpoint: options.endpoint, credentials: LOCAL_CREDENTIALS } : {}),
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
