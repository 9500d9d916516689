import { rm } from 'node:fs/promises';
import { DynamoAssociationStore } from './adapters/association-store.ts';
import {
  type ClientOptions,
  createDocumentClient,
  createEventBridgeClient,
  createS3Client,
  createSfnClient,
} from './adapters/clients.ts';
import { DynamoDeleteBudgetStore } from './adapters/delete-budget-store.ts';
import { EventBridgePublisher } from './adapters/eventbridge.ts';
import { LocalFileTree } from './adapters/fs.ts';
import { DynamoLedger } from './adapters/ledger.ts';
import { type BucketNotifications, S3BucketNotifications } from './adapters/notifications.ts';
import { observed } from './adapters/observe.ts';
import type {
  AssociationStore,
  EventPublisher,
  FileTree,
  Ledger,
  ObjectStore,
  TaskStore,
} from './adapters/ports.ts';
import { S3ObjectStore } from './adapters/s3.ts';
import { S3RangeStore } from './adapters/s3-ranges.ts';
import { DynamoTaskStore } from './adapters/task-store.ts';
import type { Config } from './config.ts';
import type { ControlDeps } from './control/associations.ts';
import { startInitialSync } from './control/lifecycle.ts';
import { DeleteBudget } from './sync/delete-budget.ts';
import type { ApplyDeps } from './sync/deps.ts';
import type { LargeDeps } from './sync/large.ts';
import { largeConfigFromEnv, stepFunctionsLargeTransfers } from './sync/large-config.ts';
import type { LargeTransfers } from './sync/large-plan.ts';
import type { PlanDeps } from './sync/plan.ts';
import { taskConfigFromEnv } from './tasks/config.ts';
import type { TaskControlDeps } from './tasks/control.ts';
import { stepFunctionsTaskStarter } from './tasks/sfn-starter.ts';
import type { TaskDeps } from './tasks/steps.ts';

/** The adapters one process needs, built once from its config. */
export interface Adapters {
  store: ObjectStore;
  tree: FileTree;
  ledger: Ledger;
  associations: AssociationStore;
  tasks: TaskStore;
  deleteBudget: DeleteBudget;
}

/**
 * The adapters of one process. The ledger is the DynamoDB table unless one
 * is given (local mode's embedded SQLite ledger, src/local/ledger-embedded.ts).
 */
export function createAdapters(config: Config, given: { ledger?: Ledger } = {}): Adapters {
  const documents = createDocumentClient(config.dynamodbClient ?? { endpoint: config.dynamodbEndpoint });
  const ledger = given.ledger ?? new DynamoLedger({ client: documents, tableName: config.tables.ledger });
  const associations = new DynamoAssociationStore({
    client: documents,
    tableName: config.tables.associations,
  });
  return {
    store: new S3ObjectStore({
      client: createS3Client(s3ClientOptions(config)),
      conditionalWrites: config.conditionalWrites ?? (config.s3Endpoint ? 'off' : 'probe'),
    }),
    tree: observed('elasticfilesystem', new LocalFileTree({ restoreOwner: config.restoreOwner })),
    ledger,
    associations,
    tasks: new DynamoTaskStore({ client: documents, tableName: config.tables.tasks }),
    deleteBudget: new DeleteBudget({
      store: new DynamoDeleteBudgetStore({ client: documents, tableName: config.tables.tasks }),
      ledger,
      associations,
    }),
  };
}

/** The S3 client settings of this process: an external store's, else the loopback endpoint (or AWS). */
export function s3ClientOptions(config: Config): ClientOptions {
  return config.s3Client ?? { endpoint: config.s3Endpoint };
}

export function createEventPublisher(config: Config): EventPublisher {
  const client = createEventBridgeClient({ endpoint: config.eventsEndpoint });
  return new EventBridgePublisher({ client, busName: config.busName });
}

export function planDeps(adapters: Adapters): PlanDeps {
  return { ledger: adapters.ledger, listAssociations: () => adapters.associations.list() };
}

export function applyDeps(
  config: Config,
  adapters: Adapters,
  events: EventPublisher,
  largeTransfers?: LargeTransfers,
): ApplyDeps {
  return {
    ...(largeTransfers ? { largeTransfers } : {}),
    store: adapters.store,
    tree: adapters.tree,
    ledger: adapters.ledger,
    events,
    getAssociation: (id) => adapters.associations.get(id),
    fileSystemRoot: config.fileSystemRoot,
    owner: config.workerId,
    host: config.host,
    restoreOwner: config.restoreOwner,
    deleteBudget: adapters.deleteBudget,
  };
}

/** The large-file path of a deployed stack, when serverless.yml names its machine (BUCKETLINK_LARGE_MACHINE_ARN). */
export function largeTransfersFromEnv(env = process.env): LargeTransfers | undefined {
  const config = largeConfigFromEnv(env);
  if (!config.stateMachineArn) return undefined;
  return stepFunctionsLargeTransfers(
    { ...config, stateMachineArn: config.stateMachineArn },
    createSfnClient(),
  );
}

/** The large-transfer steps: apply's dependencies (a step may hand the path back to apply) and S3 by ranges. */
export function largeDeps(config: Config, apply: ApplyDeps): LargeDeps {
  return { ...apply, ranges: new S3RangeStore({ client: createS3Client(s3ClientOptions(config)) }) };
}

/** The repository-task steps' dependencies; `manifestBucket` holds walk manifests, outside every association. */
export function taskDeps(config: Config, adapters: Adapters, manifestBucket: string): TaskDeps {
  return {
    tasks: adapters.tasks,
    associations: adapters.associations,
    store: adapters.store,
    tree: adapters.tree,
    ledger: adapters.ledger,
    fileSystemRoot: config.fileSystemRoot,
    manifestBucket,
  };
}

/**
 * Bucket notifications of a deployed stack: serverless.yml gives the control
 * function the `buckets` deploy parameter as BUCKETLINK_RULE_BUCKETS. Unset
 * in local mode, which has no CloudFormation-owned rule to respect.
 */
function bucketNotifications(config: Config, env: NodeJS.ProcessEnv): BucketNotifications | undefined {
  const ruleBuckets = env.BUCKETLINK_RULE_BUCKETS;
  if (!ruleBuckets) return undefined;
  // Without an endpoint (AWS) the client follows S3's redirects to a bucket in another region.
  return new S3BucketNotifications({ client: createS3Client({ endpoint: config.s3Endpoint }), ruleBuckets });
}

/** Repository tasks of a deployed stack: executions of the machine serverless.yml names. */
function taskControl(adapters: Adapters, env: NodeJS.ProcessEnv): ControlDeps['tasks'] {
  const { stateMachineArn } = taskConfigFromEnv(env);
  if (!stateMachineArn) return undefined;
  return {
    tasks: adapters.tasks,
    associations: adapters.associations,
    startTask: stepFunctionsTaskStarter({ client: createSfnClient(), stateMachineArn }),
  };
}

/** The scheduled sweep's task API (functions/schedule.ts); the machine's ARN is required there. */
export function taskControlDeps(
  adapters: Adapters,
  env = process.env,
): TaskControlDeps & { store: ObjectStore } {
  const tasks = taskControl(adapters, env);
  if (!tasks)
    throw new Error('BUCKETLINK_TASK_MACHINE_ARN is not set: the schedule has no task machine to start');
  return { ...tasks, store: adapters.store };
}

export function controlDeps(config: Config, adapters: Adapters, env = process.env): ControlDeps {
  const notifications = bucketNotifications(config, env);
  const tasks = taskControl(adapters, env);
  return {
    ...(notifications ? { notifications } : {}),
    // With a task machine, creation runs its import as a task (src/control/lifecycle.ts).
    ...(tasks
      ? {
          tasks,
          startInitialSync: (a) => startInitialSync(a, { associations: adapters.associations, tasks }),
        }
      : {}),
    associations: adapters.associations,
    store: adapters.store,
    tree: adapters.tree,
    ledger: adapters.ledger,
    fileSystemRoot: config.fileSystemRoot,
    removeTree: (dir) => rm(dir, { recursive: true, force: true }),
    deleteBudget: adapters.deleteBudget,
  };
}
