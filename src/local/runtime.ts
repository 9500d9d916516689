import './polyfill.ts';
import { randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../adapters/clients.ts';
import { CallbackPublisher } from '../adapters/eventbridge.ts';
import type { Config } from '../config.ts';
import { checkHealth, startInitialSync } from '../control/lifecycle.ts';
import { parseDataRepositoryPath } from '../core/association.ts';
import type { PipeRecord, SyncEvent } from '../core/events.ts';
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
import { newToken, publishToken } from './control-token.ts';
import { type LustreSource, startFsChanges } from './fs-changes.ts';
import { startLocalLargeTransfers } from './large-transfers.ts';
import { type LedgerChoice, startLedgerSource } from './ledger-source.ts';
import { withLocalBucket } from './manifest-store.ts';
import type { DynamoServer, S3Server } from './peers.ts';
import { LocalPipe } from './pipe.ts';
import { AGENT_RULE_PATTERN, matchesPattern, S3_RULE_PATTERN } from './rules.ts';
import { type S3ChangeOptions, startS3Changes } from './s3-changes.ts';
import { type S3SourceOptions, startS3Source } from './s3-source.ts';
import { lockStateDirectory } from './state-lock.ts';
import { RuntimeStatus } from './status.ts';
import { associationOf, PathCounter, statusView } from './status-view.ts';
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
  /** An external S3 store instead of the embedded s3rver (src/local/s3-source.ts). */
  s3?: Pick<S3SourceOptions, 'endpoint' | 'region' | 'profile' | 'pathStyle'>;
  /** Read this Lustre MDT's changelog instead of watching the root (src/local/fs-changes.ts). */
  lustre?: LustreSource;
  /** Where the ledger, associations and tasks live (src/local/ledger-source.ts). */
  ledger?: LedgerChoice;
  /** DynamoDB for `ledger: dynamodb`: an endpoint (a test peer) or AWS, with region and profile. */
  dynamodb?: { endpoint?: string; region?: string; profile?: string };
  /** Where an external store's changes come from (src/local/s3-changes.ts). */
  s3Changes?: S3ChangeOptions;
}

export interface LocalRuntime {
  root: string;
  s3Endpoint: string;
  controlEndpoint: string;
  /** The credential the control API wants (also in <state>/control-token). */
  controlToken: string;
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
 * on loopback, the ledger in SQLite under the state directory, s3rver's notifications translated to EventBridge events, a
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
  const lock = await lockStateDirectory(state);
  const peers: Array<S3Server | DynamoServer> = [];
  // An external store is checked (endpoint, credentials) before anything starts.
  const s3 = await startS3Source({
    ...options.s3,
    directory: join(state, 's3'),
    host,
    port: options.s3Port ?? 4566,
  });
  if (s3.kind === 'embedded') peers.push(s3.server);
  const ledger = await startLedgerSource(options.ledger ?? { kind: 'embedded' }, {
    ...options.dynamodb,
    directory: join(state, 'dynamodb'),
    state,
    host,
  });
  if (ledger.server) peers.push(ledger.server);

  const config: Config = {
    fileSystemRoot: root,
    tables: ledger.tables,
    busName: 'bucketlink',
    s3Endpoint: s3.endpoint,
    s3Client: s3.clientOptions,
    // s3rver ignores conditional headers; an external store is probed once per bucket.
    conditionalWrites: s3.kind === 'embedded' ? 'off' : 'probe',
    dynamodbEndpoint: ledger.clientOptions.endpoint,
    dynamodbClient: ledger.clientOptions,
    restoreOwner: process.getuid?.() === 0,
    // Stable across restarts (one runtime per state directory: lockStateDirectory), so leases a
    // killed predecessor held are taken over at once instead of blocking the start-up reconcile.
    workerId: `local/${hostname()}/${state}`,
    host: hostname(),
  };
  const adapters = createAdapters(config, { ledger: ledger.embedded });
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
  const runBatch = (batch: PipeRecord[]) =>
    machine.run(batch) as Promise<{ batchItemFailures: Array<{ itemIdentifier: string }> }>;
  const pipe = new LocalPipe({
    target: runBatch,
    onDeadLetter: (record, reason) => {
      status.observeDeadLetter('DeadLettered', reason);
      void appendFile(deadLetters, `${JSON.stringify({ reason, record })}\n`);
    },
  });

  // The rules: S3 events for associated buckets, and agent events.
  let buckets: string[] = [];
  let associations: Association[] = [];
  const refreshBuckets = async () => {
    associations = await adapters.associations.list();
    buckets = associations.map((a) => parseDataRepositoryPath(a.dataRepositoryPath).bucket);
  };
  await refreshBuckets();
  const putEvent = (event: SyncEvent) => {
    // With no association there is no S3 rule at all (EventBridge refuses an empty match list).
    if (event.source === 'aws.s3' && buckets.length && matchesPattern(S3_RULE_PATTERN(buckets), event))
      status.events.s3++;
    else if (event.source !== 'aws.s3' && matchesPattern(AGENT_RULE_PATTERN, event)) status.events.fs++;
    else return;
    pipe.send(event, associationOf(event, associations));
  };
  const s3Changes = await startS3Changes(s3, options.s3Changes ?? {}, {
    store: adapters.store,
    ledger: adapters.ledger,
    associations: () => adapters.associations.list(),
    emit: putEvent,
    target: runBatch,
    accepts: (event) => {
      const accepted = buckets.length > 0 && matchesPattern(S3_RULE_PATTERN(buckets), event);
      if (accepted) status.events.s3++;
      return accepted;
    },
  }).catch(async (error: unknown) => {
    // A queue that cannot be read is a start-up line; nothing may keep the process alive after it.
    for (const peer of peers.reverse()) await peer.close();
    throw error;
  });
  const watcher = await startFsChanges({
    root,
    emit: putEvent,
    quietMs: options.quietMs,
    lustre: options.lustre,
  });

  // Repository tasks run the repository-task ASL here, over the same apply handler.
  const tasks = taskDeps(config, adapters, MANIFEST_BUCKET);
  if (s3.kind === 'embedded') {
    await createS3Client({ endpoint: s3.endpoint })
      .send(new CreateBucketCommand({ Bucket: MANIFEST_BUCKET }))
      .catch((error: Error) => {
        if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
      });
  } else {
    // Never a bucket of ours in somebody's account: manifests stay in the state directory.
    tasks.store = withLocalBucket(adapters.store, MANIFEST_BUCKET, join(state, 'manifests'));
  }
  const taskRunner = await LocalTaskRunner.create({ deps: tasks, apply: observedApply });
  const taskControl = {
    tasks: adapters.tasks,
    associations: adapters.associations,
    startTask: (task: Parameters<LocalTaskRunner['start']>[0]) => taskRunner.start(task),
  };

  const idle = () =>
    s3Changes.idle() &&
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
  const pathsInSync = new PathCounter(adapters.ledger);
  const controlToken = newToken();
  const server = await startControlServer({
    host,
    port: options.controlPort ?? 4567,
    token: controlToken,
    control,
    putEvents: async (request) => acceptPutEvents(request, putEvent, status),
    status: async (query) => {
      const full = query.get('detail') === 'full';
      const view = statusView({
        status,
        associations: full ? await adapters.associations.list() : [],
        pending: pipe.pending(),
        watcherPending: watcher.pending(),
        pipe: pipe.stats(),
        idle: idle(),
        tasks: full ? await adapters.tasks.list() : [],
        pathsInSync,
      });
      return { ...view, ...s3Changes.stats() };
    },
  });

  const unpublishToken = await publishToken(controlToken, {
    state,
    host,
    port: server.port,
  });

  const health = setInterval(() => {
    // Another host on the same ledger may have created or deleted an association.
    void refreshBuckets().catch(() => undefined);
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
    controlToken,
    status,
    idle,
    reconcile,
    async close() {
      clearInterval(health);
      await unpublishToken();
      await s3Changes.close();
      await watcher.close();
      await pipe.drain();
      await large.drain();
      await new Promise<void>((done) => {
        server.server.close(() => done());
        server.server.closeAllConnections();
      });
      for (const peer of peers.reverse()) await peer.close();
      ledger.embedded?.close();
      await lock.release();
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
