import './polyfill.ts';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createDocumentClient, createS3Client } from '../adapters/clients.ts';
import { CallbackPublisher } from '../adapters/eventbridge.ts';
import { defaultTableNames, ensureTables } from '../adapters/tables.ts';
import { FileSystemWatcher } from '../agent/watch.ts';
import type { Config } from '../config.ts';
import { checkHealth, startInitialSync } from '../control/lifecycle.ts';
import { parseDataRepositoryPath } from '../core/association.ts';
import type { SyncEvent } from '../core/events.ts';
import type { ApplyResult, Association } from '../core/types.ts';
import { applyFunction, controlFunction, planFunction, summarizeFunction } from '../handlers.ts';
import { logger } from '../log.ts';
import { DEFAULT_LARGE_FILE_BYTES } from '../sync/large-config.ts';
import type { PlanOutput } from '../sync/plan.ts';
import { failureReason } from '../sync/summarize.ts';
import { createTask } from '../tasks/control.ts';
import { LocalTaskRunner } from '../tasks/local-runner.ts';
import { applyDeps, controlDeps, createAdapters, planDeps, taskDeps } from '../wiring.ts';
import { startControlServer } from './control-server.ts';
import { startLocalLargeTransfers } from './large-transfers.ts';
import { type DynamoServer, type S3Server, startDynamoServer, startS3Server } from './peers.ts';
import { LocalPipe } from './pipe.ts';
import { AGENT_RULE_PATTERN, matchesPattern, S3_RULE_PATTERN } from './rules.ts';
import { startS3EventSource } from './s3-events.ts';
import { RuntimeStatus } from './status.ts';
import { LocalStateMachine } from './stepfunctions.ts';

export interface LocalOptions {
  root: string;
  state: string;
  host?: string;
  s3Port?: number;
  controlPort?: number;
  /** How long a file must be quiet before it is reported. */
  quietMs?: number;
  /** Files and objects above this many bytes take the large-file path. Default 1 GiB. */
  largeFileBytes?: number;
}

export interface LocalRuntime {
  root: string;
  s3Endpoint: string;
  controlEndpoint: string;
  status: RuntimeStatus;
  /** True when no event is waiting anywhere: watcher, pipe, state machines, reconciles. */
  idle(): boolean;
  /** Runs a RECONCILE of one association now; resolves when it is done. */
  reconcile(association: Association): Promise<void>;
  close(): Promise<void>;
}

const SYNC_ASL = new URL('../../statemachines/sync.asl.json', import.meta.url);
/** Where repository tasks keep their walk manifests: a bucket no association may name. */
export const MANIFEST_BUCKET = 'bucketlink-tasks';
/** How often associations' buckets are checked (MISCONFIGURED when gone, AVAILABLE when back). */
const HEALTH_INTERVAL_MS = 2_000;

/**
 * `bucketlink local`: the whole pipeline on one machine. s3rver and dynalite
 * on loopback, s3rver's notifications translated to EventBridge events, a
 * file watcher posting agent events, in-process rules feeding an SQS-like
 * buffer and Pipe, and the real sync ASL run by aws-local-stepfunctions over
 * the same handlers Lambda runs.
 */
export async function startLocalRuntime(options: LocalOptions): Promise<LocalRuntime> {
  const root = resolve(options.root);
  const state = resolve(options.state);
  const host = options.host ?? '127.0.0.1';
  await mkdir(root, { recursive: true });
  await mkdir(state, { recursive: true });
  const peers: Array<S3Server | DynamoServer> = [];
  const s3 = await startS3Server({ directory: join(state, 's3'), host, port: options.s3Port ?? 4566 });
  peers.push(s3);
  const dynamo = await startDynamoServer({ directory: join(state, 'dynamodb'), host });
  peers.push(dynamo);

  const config: Config = {
    fileSystemRoot: root,
    tables: defaultTableNames(),
    busName: 'bucketlink',
    s3Endpoint: s3.endpoint,
    dynamodbEndpoint: dynamo.endpoint,
    restoreOwner: process.getuid?.() === 0,
    // Stable across restarts (one runtime per state directory: dynalite locks it), so leases a
    // killed predecessor held are taken over at once instead of blocking the start-up reconcile.
    workerId: `local/${hostname()}/${state}`,
    host: hostname(),
  };
  await ensureTables(createDocumentClient({ endpoint: dynamo.endpoint }), config.tables);
  const adapters = createAdapters(config);
  const status = new RuntimeStatus();
  const publisher = new CallbackPublisher((conflict) => {
    status.observeConflict(conflict);
    logger.warn('conflict', { ...conflict });
  });

  const plan = planFunction(planDeps(adapters));
  const summarize = summarizeFunction();
  // Above the threshold, apply hands the path to the large-transfer ASL (a STANDARD machine on AWS).
  const large = await startLocalLargeTransfers({
    config,
    apply: applyDeps(config, adapters, publisher),
    thresholdBytes: options.largeFileBytes ?? DEFAULT_LARGE_FILE_BYTES,
    onResult: (result) => status.observeResult(result),
  });
  const apply = applyFunction(applyDeps(config, adapters, publisher, large));
  const observedPlan = async (event: unknown) => {
    const output = (await plan(event)) as PlanOutput;
    status.observePlan(output);
    return output;
  };
  const observedApply = async (event: unknown) => {
    const output = await apply(event);
    for (const result of 'results' in output ? output.results : [output]) status.observeResult(result);
    return output;
  };
  const machine = new LocalStateMachine({
    definition: JSON.parse(await readFile(SYNC_ASL, 'utf8')),
    handlers: {
      PlanFunctionArn: observedPlan,
      ApplyFunctionArn: observedApply,
      // Failures are counted once, after the ASL's Retry gave up and Catch recorded them.
      SummarizeFunctionArn: async (event) => {
        for (const result of (event as { results: ApplyResult[] }).results) {
          if (result.outcome === 'failed')
            status.observeResult({ ...result, message: failureReason(result.message) });
        }
        return summarize(event);
      },
    },
  });
  const deadLetters = join(state, 'dlq.jsonl');
  const pipe = new LocalPipe({
    target: (batch) =>
      machine.run(batch) as Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }>,
    onDeadLetter: (record, reason) => {
      status.observeDeadLetter('DeadLettered', reason);
      void appendFile(deadLetters, `${JSON.stringify({ reason, record })}\n`);
    },
  });

  // The rules: S3 events for associated buckets, and agent events.
  let buckets: string[] = [];
  const refreshBuckets = async () => {
    buckets = (await adapters.associations.list()).map(
      (a) => parseDataRepositoryPath(a.dataRepositoryPath).bucket,
    );
  };
  await refreshBuckets();
  const putEvent = (event: SyncEvent) => {
    // With no association there is no S3 rule at all (EventBridge refuses an empty match list).
    if (event.source === 'aws.s3' && buckets.length && matchesPattern(S3_RULE_PATTERN(buckets), event))
      status.events.s3++;
    else if (event.source !== 'aws.s3' && matchesPattern(AGENT_RULE_PATTERN, event)) status.events.fs++;
    else return;
    pipe.send(event);
  };
  startS3EventSource(s3, putEvent);
  const watcher = new FileSystemWatcher({ root, emit: putEvent, quietMs: options.quietMs });
  await watcher.start();

  // Repository tasks run the repository-task ASL here, over the same apply handler.
  await createS3Client({ endpoint: s3.endpoint })
    .send(new CreateBucketCommand({ Bucket: MANIFEST_BUCKET }))
    .catch((error: Error) => {
      if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
    });
  const taskRunner = await LocalTaskRunner.create({
    deps: taskDeps(config, adapters, MANIFEST_BUCKET),
    apply: observedApply,
  });
  const taskControl = {
    tasks: adapters.tasks,
    associations: adapters.associations,
    startTask: (task: Parameters<LocalTaskRunner['start']>[0]) => taskRunner.start(task),
  };

  const idle = () =>
    watcher.pending() === 0 &&
    pipe.idle() &&
    status.reconciling === 0 &&
    taskRunner.running() === 0 &&
    large.running() === 0;

  /** A RECONCILE task over one association, waited for. */
  const reconcile = async (association: Association) => {
    status.reconciling++;
    try {
      const task = await createTask(
        { type: 'RECONCILE', associationId: association.associationId, paths: [] },
        taskControl,
      );
      await taskRunner.finished(task.taskId);
    } finally {
      status.reconciling--;
    }
  };

  const control = controlFunction({
    ...controlDeps(config, adapters),
    onChange: () => void refreshBuckets(),
    tasks: taskControl,
    startInitialSync: (association) =>
      startInitialSync(association, {
        associations: adapters.associations,
        tasks: taskControl,
        onChange: () => void refreshBuckets(),
      }),
  });
  const server = await startControlServer({
    host,
    port: options.controlPort ?? 4567,
    control,
    putEvents: async (request) => acceptPutEvents(request, putEvent, status),
    status: () => ({
      ...status.snapshot(),
      pipe: pipe.stats(),
      watcherPending: watcher.pending(),
      idle: idle(),
    }),
  });

  const health = setInterval(() => {
    checkHealth({ ...adapters, tasks: taskControl, onChange: () => void refreshBuckets() }).catch((error) =>
      logger.error('association health check failed', { error }),
    );
  }, HEALTH_INTERVAL_MS);
  health.unref();

  // Changes made while we were stopped: reconcile every association at start.
  for (const association of await adapters.associations.list()) {
    void reconcile(association).catch((error) =>
      logger.error('startup reconcile failed', { associationId: association.associationId, error }),
    );
  }

  return {
    root,
    s3Endpoint: s3.endpoint,
    controlEndpoint: server.endpoint,
    status,
    idle,
    reconcile,
    async close() {
      clearInterval(health);
      await watcher.close();
      await pipe.drain();
      await large.drain();
      await new Promise<void>((done) => {
        server.server.close(() => done());
        server.server.closeAllConnections();
      });
      for (const peer of peers.reverse()) await peer.close();
    },
  };
}

/**
 * PutEvents from a separate `bucketlink agent`: each entry becomes the
 * EventBridge event the bus would deliver, put through the same rules.
 * Entries whose Detail is not JSON fail alone, as EventBridge reports them.
 */
function acceptPutEvents(request: unknown, put: (event: SyncEvent) => void, status: RuntimeStatus) {
  const entries = ((request as { Entries?: unknown[] }).Entries ?? []) as Array<Record<string, unknown>>;
  const results = entries.map((entry) => {
    let detail: unknown;
    try {
      detail = JSON.parse(String(entry.Detail));
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is not valid JSON' };
    }
    const id = randomUUID();
    status.events.agentEntries++;
    put({
      version: '0',
      id,
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'local',
      resources: [],
      detail,
    } as SyncEvent);
    return { EventId: id };
  });
  return { FailedEntryCount: results.filter((r) => 'ErrorCode' in r).length, Entries: results };
}
