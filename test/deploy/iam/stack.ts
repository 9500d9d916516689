// biome-ignore-all lint/suspicious/noExplicitAny: template JSON and Lambda events are untyped.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createDocumentClient, createS3Client } from '../../../src/adapters/clients.ts';
import { S3ObjectStore } from '../../../src/adapters/s3.ts';
import { ensureTables } from '../../../src/adapters/tables.ts';
import { startDynamoServer, startS3Server } from '../../../src/local/peers.ts';
import { LocalStateMachine } from '../../../src/local/stepfunctions.ts';
import { LocalTaskMachine } from '../../../src/tasks/local-machine.ts';
import type { Template } from '../template.ts';
import type { Mount } from './actions.ts';
import type { Caller } from './prove.ts';
import { type Recorder, startRecorder } from './recorder.ts';
import { REGION, TemplateValues } from './template-values.ts';

/**
 * The deployed stack's functions and state machines, run on one machine
 * against s3rver and dynalite with the names the packaged template gives
 * them: each function is its own functions/*.ts entry point, built from the
 * environment its template resource sets (endpoints and the mount path
 * aside), and each machine its real ASL through aws-local-stepfunctions,
 * its Tasks invoking those entry points. Every call is recorded per caller.
 */

/** The file system behind the `ci` access point (its id is not in the template; any id of the account works). */
const FILE_SYSTEM_ID = 'fs-0123456789abcdef0';
const STATE_MACHINES = ['SyncStateMachine', 'RepositoryTaskStateMachine', 'LargeTransferStateMachine'];
const ASL: Record<string, string> = {
  SyncStateMachine: 'sync',
  RepositoryTaskStateMachine: 'repository-task',
  LargeTransferStateMachine: 'large-transfer',
};

export interface RecordedStack {
  values: TemplateValues;
  recorder: Recorder;
  root: string;
  /** The association's bucket (matched by the `ci` stage's `data-*`). */
  bucket: string;
  /** The test's own S3 client (its calls are nobody's). */
  admin: S3Client;
  dynamodbEndpoint: string;
  /** Invokes a function's entry point as Lambda would, recorded as that function. */
  invoke(functionId: string, event: unknown): Promise<any>;
  /** Runs one execution of a machine to its end, recorded as that machine. */
  run(machineId: string, input: unknown): Promise<unknown>;
  /** Waits for every execution StartExecution started (and those they started). */
  settle(): Promise<void>;
  /** Each caller's role and mount, for the proof. */
  callers(): Record<string, Caller>;
  /** Fails the next StartExecution with `error` (a fault Step Functions can give). */
  failNextStart(error: Error): void;
  close(): Promise<void>;
}

export async function startRecordedStack(template: Template): Promise<RecordedStack> {
  const values = new TemplateValues(template);
  const resources = template.Resources;
  const functionIds = Object.keys(resources).filter((id) => resources[id]!.Type === 'AWS::Lambda::Function');
  const state = await mkdtemp(join(tmpdir(), 'bucketlink-iam-'));
  const root = join(state, 'fs');
  await mkdir(root);
  const s3 = await startS3Server({ directory: join(state, 's3'), host: '127.0.0.1', port: 0 });
  const dynamo = await startDynamoServer({ directory: join(state, 'dynamodb'), host: '127.0.0.1' });
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'RECORDED',
    AWS_SECRET_ACCESS_KEY: 'RECORDED',
  });

  const running = new Set<Promise<unknown>>();
  const failNextStart: { error?: Error } = {};
  const machines: Record<string, { run(input: unknown): Promise<unknown> }> = {};
  const recorder = startRecorder({
    failNextStart,
    startExecution(arn, input) {
      const id = STATE_MACHINES.find((m) => values.arn(m) === arn);
      if (!id) throw new Error(`StartExecution of ${arn}, which is no machine of the template`);
      const execution = run(id, input).catch(() => undefined);
      running.add(execution);
      void execution.finally(() => running.delete(execution));
    },
  });

  const fnEnv = (id: string): Record<string, string> => ({
    ...values.resolve(resources[id]!.Properties.Environment?.Variables ?? {}),
    BUCKETLINK_FS_ROOT: root,
    BUCKETLINK_S3_ENDPOINT: s3.endpoint,
    BUCKETLINK_DYNAMODB_ENDPOINT: dynamo.endpoint,
    // Small enough for a test file to take the large path; parts stay the template's.
    BUCKETLINK_LARGE_FILE_BYTES: String(1024 * 1024),
    NODE_OPTIONS: process.env.NODE_OPTIONS ?? '',
  });
  const handlers = new Map<string, (event: unknown, context: unknown) => Promise<unknown>>();
  const invoke = async (id: string, event: unknown) => {
    let handler = handlers.get(id);
    if (!handler) {
      const name = id.replace(/LambdaFunction$/, '').toLowerCase();
      handler = (await import(`../../../functions/${name}.ts`)).handler as any;
      handlers.set(id, handler!);
    }
    const context = {
      awsRequestId: 'r',
      functionName: values.name(id),
      getRemainingTimeInMillis: () => 60_000,
    };
    return recorder.as(id, () => {
      // The handler reads its environment once, synchronously, on its first call.
      const before = { ...process.env };
      Object.assign(process.env, fnEnv(id));
      try {
        return handler!(event, context);
      } finally {
        for (const key of Object.keys(process.env)) if (!(key in before)) delete process.env[key];
        Object.assign(process.env, before);
      }
    });
  };

  const functionOfArn = (arn: string) => {
    const id = functionIds.find((f) => values.arn(f) === arn);
    if (!id) throw new Error(`a Task invokes ${arn}, which is no function of the template`);
    return id;
  };
  const machineHandlers = (machineId: string) =>
    Object.fromEntries(
      Object.entries(
        values.resolve(resources[machineId]!.Properties.DefinitionSubstitutions) as Record<string, string>,
      ).map(([placeholder, arn]) => [
        placeholder,
        async (payload: unknown) => {
          recorder.record({ service: 'lambda', command: 'Invoke', input: { FunctionName: arn } });
          return invoke(functionOfArn(arn), payload);
        },
      ]),
    );
  for (const id of STATE_MACHINES) {
    const definition = JSON.parse(
      await readFile(new URL(`../../../statemachines/${ASL[id]}.asl.json`, import.meta.url), 'utf8'),
    );
    // Built inside the recorder: the ItemReader's reads are the machine's own calls.
    const store = new S3ObjectStore({ client: createS3Client({ endpoint: s3.endpoint }) });
    machines[id] =
      id === 'RepositoryTaskStateMachine'
        ? new LocalTaskMachine({ definition, store, handlers: machineHandlers(id), retryIntervalMs: 1 })
        : new LocalStateMachine({ definition, handlers: machineHandlers(id), retryIntervalMs: 1 });
  }
  function run(id: string, input: unknown) {
    return recorder.as(id, () => machines[id]!.run(input));
  }

  // The tables and buckets CloudFormation would create, outside any caller.
  const names = {
    ledger: values.name('LedgerTable'),
    associations: values.name('AssociationsTable'),
    tasks: values.name('TasksTable'),
  };
  await ensureTables(createDocumentClient({ endpoint: dynamo.endpoint }), names);
  const bucket = 'data-iam';
  const admin = createS3Client({ endpoint: s3.endpoint });
  for (const name of [bucket, values.name('TasksBucket')])
    await admin.send(new CreateBucketCommand({ Bucket: name }));

  const mountOf = (id: string): Mount | undefined => {
    const config = resources[id]!.Properties.FileSystemConfigs?.[0];
    if (!config) return undefined;
    const accessPointArn = values.resolve(config.Arn) as string;
    const [, , , region, account] = accessPointArn.split(':');
    return {
      accessPointArn,
      fileSystemArn: `arn:aws:elasticfilesystem:${region}:${account}:file-system/${FILE_SYSTEM_ID}`,
    };
  };

  return {
    values,
    recorder,
    root,
    bucket,
    admin,
    dynamodbEndpoint: dynamo.endpoint,
    invoke,
    run,
    async settle() {
      while (running.size) await Promise.all([...running]);
    },
    callers() {
      const callers: Record<string, Caller> = {};
      for (const id of functionIds) {
        const mount = mountOf(id);
        callers[id] = { roleId: values.roleId(resources[id]!.Properties.Role), ...(mount ? { mount } : {}) };
      }
      for (const id of STATE_MACHINES)
        callers[id] = { roleId: values.roleId(resources[id]!.Properties.RoleArn) };
      callers.SyncPipe = { roleId: values.roleId(resources.SyncPipe!.Properties.RoleArn) };
      for (const [id, r] of Object.entries(resources))
        if (r.Type === 'AWS::Scheduler::Schedule')
          callers[id] = { roleId: values.roleId(r.Properties.Target.RoleArn) };
      return callers;
    },
    failNextStart(error: Error) {
      failNextStart.error = error;
    },
    async close() {
      recorder.close();
      process.env = saved;
      await s3.close();
      await dynamo.close();
      await rm(state, { recursive: true, force: true });
    },
  };
}
