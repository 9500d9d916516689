import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createDocumentClient, createS3Client } from '../../src/adapters/clients.ts';
import { CallbackPublisher } from '../../src/adapters/eventbridge.ts';
import type { SyncConflict } from '../../src/adapters/ports.ts';
import { defaultTableNames, ensureTables } from '../../src/adapters/tables.ts';
import type { Config } from '../../src/config.ts';
import type { Association } from '../../src/core/types.ts';
import { controlFunction } from '../../src/handlers.ts';
import { type DynamoServer, type S3Server, startDynamoServer, startS3Server } from '../../src/local/peers.ts';
import type { ApplyDeps } from '../../src/sync/deps.ts';
import { type Adapters, applyDeps, controlDeps, createAdapters, planDeps } from '../../src/wiring.ts';

/**
 * Real peers on loopback (s3rver, dynalite, a temp directory) and the
 * adapters and handler dependencies built over them, as Lambda builds them.
 */
export interface Stack {
  root: string;
  s3: S3Client;
  config: Config;
  adapters: Adapters;
  conflicts: SyncConflict[];
  applyDeps(owner?: string): ApplyDeps;
  planDeps: ReturnType<typeof planDeps>;
  createBucket(name: string): Promise<void>;
  associate(
    fileSystemPath: string,
    dataRepositoryPath: string,
    extra?: Record<string, unknown>,
  ): Promise<Association>;
  close(): Promise<void>;
}

/** `external`: an S3 peer of its own (moto) instead of the in-process s3rver, probed for conditional writes. */
export async function startStack(options: { external?: { endpoint: string } } = {}): Promise<Stack> {
  const base = await mkdtemp(join(tmpdir(), 'bucketlink-it-'));
  const s3Server: S3Server | undefined = options.external
    ? undefined
    : await startS3Server({ directory: join(base, 's3') });
  const s3Endpoint = options.external?.endpoint ?? s3Server!.endpoint;
  const dynamo: DynamoServer = await startDynamoServer({});
  const config: Config = {
    fileSystemRoot: join(base, 'fs'),
    tables: defaultTableNames(),
    busName: 'bucketlink',
    s3Endpoint,
    ...(options.external ? { conditionalWrites: 'probe' as const } : {}),
    dynamodbEndpoint: dynamo.endpoint,
    restoreOwner: false,
    workerId: 'test-worker',
    host: 'testhost',
  };
  await ensureTables(createDocumentClient({ endpoint: dynamo.endpoint }), config.tables);
  const adapters = createAdapters(config);
  const conflicts: SyncConflict[] = [];
  const publisher = new CallbackPublisher((conflict) => conflicts.push(conflict));
  const s3 = createS3Client({ endpoint: s3Endpoint });
  const control = controlFunction(controlDeps(config, adapters));
  return {
    root: config.fileSystemRoot,
    s3,
    config,
    adapters,
    conflicts,
    applyDeps: (owner = 'test-worker') => ({ ...applyDeps(config, adapters, publisher), owner }),
    planDeps: planDeps(adapters),
    createBucket: async (name) => {
      await s3.send(new CreateBucketCommand({ Bucket: name }));
    },
    associate: async (fileSystemPath, dataRepositoryPath, extra = {}) => {
      const created = (await control({
        action: 'createAssociation',
        fileSystemPath,
        dataRepositoryPath,
        ...extra,
      })) as {
        association: Association;
      };
      return created.association;
    },
    close: async () => {
      await s3Server?.close();
      await dynamo.close();
    },
  };
}
