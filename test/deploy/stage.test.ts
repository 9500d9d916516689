import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StageClient } from '../../src/cli/stage.ts';
import { runCli } from '../support/bucketlink.ts';

/**
 * `--stage NAME [--region R]`: management commands invoke the deployed
 * `bucketlink-<stage>-control` function with the payload the local control
 * endpoint takes. The client is checked with aws-sdk-client-mock; the real
 * CLI is checked end to end against loopback servers speaking the Lambda
 * Invoke and local control protocols.
 */

const BIN = fileURLToPath(new URL('../../bin/bucketlink.mjs', import.meta.url));
/** A response payload; the SDK's blob adapter only adds decoding helpers StageClient does not use. */
const encode = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];

describe('StageClient', () => {
  it('invokes bucketlink-<stage>-control synchronously with the request as its payload', async () => {
    const client = new LambdaClient({ region: 'eu-west-1' });
    const mock = mockClient(client);
    mock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({ associations: [] }) });
    const request = { action: 'describeAssociations', associationIds: ['dra-1'] };

    const response = await new StageClient({ stage: 'prod', client }).send(request);

    expect(response).toEqual({ associations: [] });
    const [call] = mock.commandCalls(InvokeCommand);
    const input = call!.args[0].input;
    expect(input.FunctionName).toBe('bucketlink-prod-control');
    expect(input.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array))).toEqual(request);
  });

  it('turns a FunctionError into the SyncError the function threw', async () => {
    const client = new LambdaClient({ region: 'eu-west-1' });
    mockClient(client)
      .on(InvokeCommand)
      .resolves({
        StatusCode: 200,
        FunctionError: 'Unhandled',
        Payload: encode({
          errorType: 'DataRepositoryAssociationNotFound',
          errorMessage: 'association dra-9 does not exist',
        }),
      });

    await expect(
      new StageClient({ stage: 'prod', client }).send({
        action: 'describeAssociations',
        associationIds: ['dra-9'],
      }),
    ).rejects.toMatchObject({
      code: 'DataRepositoryAssociationNotFound',
      message: 'association dra-9 does not exist',
    });
  });

  it('says to check --stage and --region when the function does not exist', async () => {
    const client = new LambdaClient({ region: 'eu-west-1' });
    mockClient(client)
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));

    await expect(
      new StageClient({ stage: 'nope', client }).send({ action: 'describeAssociations' }),
    ).rejects.toThrow(/bucketlink-nope-control.*check --stage and --region/);
  });

  it('refuses a stage name that cannot be part of a function name', () => {
    expect(() => new StageClient({ stage: 'prod/x' })).toThrow(/stage "prod\/x"/);
  });
});

/** A loopback server that records each request's path and JSON body and answers with `reply`. */
async function recordingServer(
  reply: (
    path: string,
    body: Record<string, unknown>,
  ) => { status?: number; headers?: Record<string, string>; body: unknown },
): Promise<{ server: Server; url: string; requests: { path: string; body: unknown }[] }> {
  const requests: { path: string; body: unknown }[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const path = request.url ?? '';
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    requests.push({ path, body });
    const answer = reply(path, body);
    response.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers });
    response.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

describe('bucketlink … --stage', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  /** AWS SDK settings that send Lambda calls to the loopback server, with throwaway credentials. */
  const awsEnv = (lambdaUrl: string) => ({
    AWS_ENDPOINT_URL_LAMBDA: lambdaUrl,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  });

  const CREATE = [
    'associations',
    'create',
    '--file-system-path',
    '/logs',
    '--data-repository-path',
    's3://logs/',
    '--auto-export',
    'NEW,CHANGED',
  ];

  it('sends the deployed function exactly the payload the local endpoint gets', async () => {
    const association = { associationId: 'dra-1', fileSystemPath: '/logs' };
    const lambda = await recordingServer(() => ({ body: { association } }));
    const local = await recordingServer(() => ({ body: { association } }));
    servers.push(lambda.server, local.server);

    const viaStage = await runCli(
      [BIN, ...CREATE, '--stage', 'prod', '--region', 'eu-west-1'],
      awsEnv(lambda.url),
    );
    const viaEndpoint = await runCli([BIN, ...CREATE, '--endpoint', local.url]);

    expect(viaStage.stderr).toBe('');
    expect(viaStage.code).toBe(0);
    expect(JSON.parse(viaStage.stdout)).toEqual({ association });
    expect(viaStage.stdout).toBe(viaEndpoint.stdout);
    expect(lambda.requests.map((r) => r.path)).toEqual([
      '/2015-03-31/functions/bucketlink-prod-control/invocations',
    ]);
    expect(local.requests.map((r) => r.path)).toEqual(['/control']);
    expect(lambda.requests[0]!.body).toEqual(local.requests[0]!.body);
    expect(lambda.requests[0]!.body).toMatchObject({
      action: 'createAssociation',
      autoExport: ['NEW', 'CHANGED'],
    });
  });

  it('prints the function’s error code and message and exits non-zero', async () => {
    const lambda = await recordingServer(() => ({
      headers: { 'x-amz-function-error': 'Unhandled' },
      body: {
        errorType: 'BucketNotCoveredByRule',
        errorMessage:
          'bucket other is not matched by the deployed S3 rule (deploy parameter `buckets` is "logs")',
      },
    }));
    servers.push(lambda.server);

    const result = await runCli(
      [BIN, 'associations', 'delete', 'dra-1', '--stage', 'prod', '--region', 'eu-west-1'],
      awsEnv(lambda.url),
    );

    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'bucketlink: BucketNotCoveredByRule: bucket other is not matched by the deployed S3 rule (deploy parameter `buckets` is "logs")\n',
    );
    expect(lambda.requests[0]!.body).toEqual({
      action: 'deleteAssociation',
      associationId: 'dra-1',
      deleteDataInFileSystem: false,
    });
  });
});

describe('bucketlink tasks … --stage', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  });

  const awsEnv = (lambdaUrl: string) => ({
    AWS_ENDPOINT_URL_LAMBDA: lambdaUrl,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_EC2_METADATA_DISABLED: 'true',
  });

  const task = (lifecycle: string) => ({
    taskId: 'task-0123456789abcdef0',
    type: 'RECONCILE',
    associationId: 'dra-1',
    lifecycle,
    paths: ['docs'],
    status: {
      totalCount: 2,
      succeededCount: lifecycle === 'SUCCEEDED' ? 2 : 0,
      failedCount: 0,
      transferredBytes: 0,
    },
  });

  /** Answers the task actions as the control function does, the task ending at once or never. */
  const controlAnswers = (final: string) => (_path: string, body: Record<string, unknown>) => {
    switch (body.action) {
      case 'createTask':
        return { body: { task: task('PENDING') } };
      case 'describeTasks':
        return { body: { tasks: [task(final)] } };
      default:
        return { body: { task: task('CANCELING') } };
    }
  };

  it.each([
    [
      'create --wait',
      ['tasks', 'create', '--type', 'RECONCILE', '--association', 'dra-1', '--paths', 'docs', '--wait'],
    ],
    [
      'describe',
      ['tasks', 'describe', 'task-0123456789abcdef0', '--association', 'dra-1', '--lifecycle', 'EXECUTING'],
    ],
    ['cancel', ['tasks', 'cancel', 'task-0123456789abcdef0']],
    ['wait', ['tasks', 'wait', 'task-0123456789abcdef0']],
  ])('tasks %s sends the deployed function exactly what the local endpoint gets', async (_name, args) => {
    const lambda = await recordingServer(controlAnswers('SUCCEEDED'));
    const local = await recordingServer(controlAnswers('SUCCEEDED'));
    servers.push(lambda.server, local.server);

    const viaStage = await runCli(
      [BIN, ...args, '--stage', 'prod', '--region', 'eu-west-1'],
      awsEnv(lambda.url),
    );
    const viaEndpoint = await runCli([BIN, ...args, '--endpoint', local.url]);

    expect(viaStage.code).toBe(0);
    expect(viaStage.stdout).toBe(viaEndpoint.stdout);
    expect(lambda.requests.length).toBeGreaterThan(0);
    expect(new Set(lambda.requests.map((r) => r.path))).toEqual(
      new Set(['/2015-03-31/functions/bucketlink-prod-control/invocations']),
    );
    expect(lambda.requests.map((r) => r.body)).toEqual(local.requests.map((r) => r.body));
  });

  it('on Ctrl-C during create --wait says the task goes on and prints the --stage command that waits again', async () => {
    const lambda = await recordingServer(controlAnswers('EXECUTING'));
    servers.push(lambda.server);
    const child = spawn(
      process.execPath,
      [
        BIN,
        'tasks',
        'create',
        '--type',
        'RECONCILE',
        '--association',
        'dra-1',
        '--wait',
        '--stage',
        'prod',
        '--region',
        'eu-west-1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...awsEnv(lambda.url) } },
    );
    let stderr = '';
    const lines = createInterface({ input: child.stderr! });
    // The first progress line: the task exists and the CLI is polling it.
    await new Promise<void>((resolve) =>
      lines.on('line', (line) => {
        stderr += `${line}\n`;
        if (line.includes('"lifecycle"')) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

    child.kill('SIGINT');

    expect(await exited).toBe(130);
    const last = stderr.trimEnd().split('\n').at(-1);
    expect(last).toBe(
      'bucketlink: Interrupted: task task-0123456789abcdef0 goes on (Ctrl-C stopped only the waiting); wait for it again with: bucketlink tasks wait task-0123456789abcdef0 --stage prod --region eu-west-1',
    );
    // Interrupting the wait does not cancel the task.
    expect(lambda.requests.map((r) => (r.body as { action: string }).action)).not.toContain('cancelTask');
  });
});
