import { hostname } from 'node:os';
import { z } from 'zod';
import type { ClientOptions } from './adapters/clients.ts';

/** What a Lambda worker reads from its environment, once, validated. */
const environment = z.object({
  BUCKETLINK_FS_ROOT: z.string().default('/mnt/fs'),
  BUCKETLINK_LEDGER_TABLE: z.string().default('bucketlink-ledger'),
  BUCKETLINK_ASSOCIATIONS_TABLE: z.string().default('bucketlink-associations'),
  BUCKETLINK_TASKS_TABLE: z.string().default('bucketlink-tasks'),
  BUCKETLINK_BUS_NAME: z.string().default('bucketlink'),
  /** Loopback endpoints in local mode and tests; unset on AWS. */
  BUCKETLINK_S3_ENDPOINT: z.url().optional(),
  BUCKETLINK_DYNAMODB_ENDPOINT: z.url().optional(),
  BUCKETLINK_EVENTS_ENDPOINT: z.url().optional(),
  /** Restore uid/gid on import: only when the access point's user is root. */
  BUCKETLINK_RESTORE_OWNER: z.enum(['true', 'false']).optional(),
  AWS_LAMBDA_LOG_STREAM_NAME: z.string().optional(),
});

export interface Config {
  fileSystemRoot: string;
  tables: { ledger: string; associations: string; tasks: string };
  busName: string;
  s3Endpoint?: string;
  /** How to reach S3 when it is not a loopback peer (`bucketlink local --s3-endpoint`); wins over s3Endpoint. */
  s3Client?: ClientOptions;
  /** Conditional PUTs: `probe` each bucket's store once; default `off` for a loopback s3Endpoint, else `probe`. */
  conditionalWrites?: 'probe' | 'off';
  dynamodbEndpoint?: string;
  /** How to reach DynamoDB when it is not a loopback peer (`bucketlink local --ledger dynamodb:…`). */
  dynamodbClient?: ClientOptions;
  eventsEndpoint?: string;
  restoreOwner: boolean;
  /** Lease owner identity: unique per worker process. */
  workerId: string;
  host: string;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environment.parse(env);
  return {
    fileSystemRoot: parsed.BUCKETLINK_FS_ROOT,
    tables: {
      ledger: parsed.BUCKETLINK_LEDGER_TABLE,
      associations: parsed.BUCKETLINK_ASSOCIATIONS_TABLE,
      tasks: parsed.BUCKETLINK_TASKS_TABLE,
    },
    busName: parsed.BUCKETLINK_BUS_NAME,
    s3Endpoint: parsed.BUCKETLINK_S3_ENDPOINT,
    dynamodbEndpoint: parsed.BUCKETLINK_DYNAMODB_ENDPOINT,
    eventsEndpoint: parsed.BUCKETLINK_EVENTS_ENDPOINT,
    restoreOwner: parsed.BUCKETLINK_RESTORE_OWNER
      ? parsed.BUCKETLINK_RESTORE_OWNER === 'true'
      : process.getuid?.() === 0,
    workerId: `${parsed.AWS_LAMBDA_LOG_STREAM_NAME ?? hostname()}/${process.pid}`,
    host: hostname(),
  };
}
