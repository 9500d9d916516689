import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client, createSqsClient } from '../../src/adapters/clients.ts';
import type { QueueStats } from '../../src/local/sqs-source.ts';
import { eventually, LocalProcess, runCli } from '../support/bucketlink.ts';
import { chainEnv, eventsSetup, startInterceptingProxy, startMoto } from '../support/external-peers.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
/** Space, `+`, `%`, `#` and non-ASCII, below a directory: the classic shape URL-encodes all of it. */
const ODD_KEYS = ['dir/a b+c.txt', 'dir/100% #1.txt', 'ünï/日本 語.txt'];

const moto = await startMoto();

describe.skipIf(!moto)('bucketlink local --s3-endpoint --events-queue (moto: S3, SQS, EventBridge)', () => {
  let local: LocalProcess;
  let queueUrl: string;
  let dlqUrl: string;
  const endpoint = () => moto!.endpoint;
  const s3 = () => createS3Client({ endpoint: endpoint() });
  const sqs = () => createSqsClient({ endpoint: endpoint() });
  const file = (...parts: string[]) => join(local.root, ...parts);
  const queue = async () => (await local.status()).queue as QueueStats;
  const setup = (...args: string[]) =>
    eventsSetup(
      endpoint(),
      '--queue',
      'changes',
      '--visibility-timeout',
      '2',
      '--max-receive-count',
      '2',
      ...args,
    );
  const queueDepth = async (url: string) => {
    const { Attributes } = await sqs().send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return (
      Number(Attributes!.ApproximateNumberOfMessages) +
      Number(Attributes!.ApproximateNumberOfMessagesNotVisible)
    );
  };

  beforeAll(async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'routed' }));
    await s3().send(new CreateBucketCommand({ Bucket: 'notified' }));
    // Both shapes into one queue: an EventBridge rule for one bucket, a classic notification for the other.
    const first = await setup('--bucket', 'routed');
    expect(first.code, first.stderr).toBe(0);
    const again = await setup('--bucket', 'routed');
    expect(JSON.parse(again.stdout)).toEqual(JSON.parse(first.stdout));
    const classic = await setup('--bucket', 'notified', '--shape', 'notification');
    expect(classic.code, classic.stderr).toBe(0);
    ({ queueUrl, deadLetterQueueUrl: dlqUrl } = JSON.parse(classic.stdout));
    local = await LocalProcess.start(undefined, {
      args: ['--s3-endpoint', endpoint(), '--events-queue', queueUrl],
      env: chainEnv('test', 'test'),
      s3: s3(),
    });
    await local.associate('/routed', 's3://routed/');
    await local.associate('/notified', 's3://notified/');
  });

  afterAll(async () => {
    await local?.stop();
    await moto?.close();
  });

  for (const [bucket, shape] of [
    ['routed', 'EventBridge rule'],
    ['notified', 'S3 notification'],
  ] as const) {
    it(`imports, overwrites and deletes odd keys from the ${shape} shape`, async () => {
      for (const key of ODD_KEYS)
        await s3().send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: `v1 ${key}` }));
      for (const key of ODD_KEYS)
        await eventually(() => readFile(file(bucket, key), 'utf8').then((t) => t === `v1 ${key}`));
      await s3().send(new PutObjectCommand({ Bucket: bucket, Key: ODD_KEYS[0], Body: 'v2' }));
      await eventually(() => readFile(file(bucket, ODD_KEYS[0]!), 'utf8').then((t) => t === 'v2'));
      for (const key of ODD_KEYS) await s3().send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      for (const key of ODD_KEYS) await eventually(async () => !existsSync(file(bucket, key)));
    });
  }

  it('exports a file, and its own notification coming back through the queue transfers nothing', async () => {
    await writeFile(file('notified', 'out.txt'), 'from the file system');
    const body = await eventually(async () => {
      const object = await s3().send(new GetObjectCommand({ Bucket: 'notified', Key: 'out.txt' }));
      return object.Body!.transformToString();
    });
    expect(body).toBe('from the file system');
    await eventually(async () => (await queueDepth(queueUrl)) === 0 && (await local.status()).idle);
    const before = (await local.status()).transfers;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await local.status()).transfers).toEqual(before);
  });

  it('deletes an s3:TestEvent without doing anything', async () => {
    const ignored = (await queue()).ignored;
    await sqs().send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'notified' }),
      }),
    );
    await eventually(async () => (await queue()).ignored > ignored);
    await eventually(async () => (await queueDepth(queueUrl)) === 0);
  });

  it('a redelivered message (committed, then not deleted) transfers nothing twice', async () => {
    await s3().send(new PutObjectCommand({ Bucket: 'notified', Key: 'once.txt', Body: 'once' }));
    await eventually(() => readFile(file('notified', 'once.txt'), 'utf8'));
    await eventually(async () => (await queueDepth(queueUrl)) === 0 && (await local.status()).idle);
    const before = (await local.status()).transfers;
    // The same notification again, as SQS redelivers a message whose delete never happened.
    const record = {
      eventVersion: '2.1',
      eventSource: 'aws:s3',
      awsRegion: 'us-east-1',
      eventTime: new Date().toISOString(),
      eventName: 'ObjectCreated:Put',
      s3: { bucket: { name: 'notified' }, object: { key: 'once.txt', size: 4 } },
    };
    const deleted = (await queue()).deleted;
    await sqs().send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ Records: [record] }) }),
    );
    await eventually(async () => (await queue()).deleted > deleted);
    await eventually(async () => (await local.status()).idle);
    expect((await local.status()).transfers).toEqual(before);
  });

  it('a message that keeps failing reaches the dead-letter queue through the redrive policy', async () => {
    await sqs().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'not an event' }));
    const dead = await eventually(async () => {
      const { Messages } = await sqs().send(
        new ReceiveMessageCommand({ QueueUrl: dlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      return Messages?.find((m) => m.Body === 'not an event');
    }, 30_000);
    expect(dead).toBeDefined();
  });

  it('after a restart, takes the changes the queue kept while it was stopped', async () => {
    await local.stop();
    await s3().send(new PutObjectCommand({ Bucket: 'routed', Key: 'while stopped.txt', Body: 'kept' }));
    await local.restart();
    expect(await eventually(() => readFile(file('routed', 'while stopped.txt'), 'utf8'))).toBe('kept');
  });

  it('a crash between the work and the message delete: redelivered, transferred once', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'crashy' }));
    const made = await eventsSetup(
      endpoint(),
      '--queue',
      'crashing',
      '--visibility-timeout',
      '2',
      '--bucket',
      'crashy',
      '--shape',
      'notification',
    );
    const crashingUrl = JSON.parse(made.stdout).queueUrl as string;
    let crashed: LocalProcess | undefined;
    let armed = false;
    // Once armed, the first delete never arrives: the process dies right after its work committed.
    const proxy = await startInterceptingProxy(endpoint(), (request) => {
      if (!armed || !String(request.headers['x-amz-target']).includes('DeleteMessage')) return false;
      armed = false;
      crashed!.child.kill('SIGKILL');
      return 500;
    });
    const proxiedUrl = crashingUrl.replace(new URL(crashingUrl).origin, proxy.endpoint);
    crashed = await LocalProcess.start(undefined, {
      args: ['--s3-endpoint', endpoint(), '--events-queue', proxiedUrl],
      env: chainEnv('test', 'test'),
      s3: s3(),
    });
    try {
      await crashed.associate('/crashy', 's3://crashy/');
      // The s3:TestEvent the notification set-up sent is gone first.
      await eventually(async () => (await queueDepth(crashingUrl)) === 0);
      armed = true;
      const exited = new Promise((resolve) => crashed!.child.once('exit', resolve));
      await s3().send(new PutObjectCommand({ Bucket: 'crashy', Key: 'a b+c.txt', Body: 'survives' }));
      await exited;
      expect(armed).toBe(false);
      expect(await readFile(join(crashed.root, 'crashy', 'a b+c.txt'), 'utf8')).toBe('survives');
      expect(await queueDepth(crashingUrl)).toBe(1);
      await crashed.restart();
      // Redelivered after its visibility timeout, found in sync, deleted: no second transfer.
      await eventually(async () => ((await crashed!.status()).queue as QueueStats).deleted >= 1, 30_000);
      await eventually(async () => (await queueDepth(crashingUrl)) === 0);
      expect((await crashed.settle()).transfers.imports).toBe(0);
      expect(await readFile(join(crashed.root, 'crashy', 'a b+c.txt'), 'utf8')).toBe('survives');
    } finally {
      await crashed.stop();
      await proxy.close();
    }
  }, 120_000);

  it('--poll against moto: imports what changed, and a quiet poll transfers nothing', async () => {
    await s3().send(new CreateBucketCommand({ Bucket: 'listed' }));
    const polling = await LocalProcess.start(undefined, {
      args: ['--s3-endpoint', endpoint(), '--poll', '0.3'],
      env: chainEnv('test', 'test'),
      s3: s3(),
    });
    try {
      await polling.associate('/listed', 's3://listed/');
      await s3().send(new PutObjectCommand({ Bucket: 'listed', Key: ODD_KEYS[1], Body: 'listed' }));
      await eventually(() => readFile(join(polling.root, 'listed', ODD_KEYS[1]!), 'utf8'));
      const settled = await polling.settle();
      const polls = (settled.poll as { polls: number }).polls;
      await eventually(async () => ((await polling.status()).poll as { polls: number }).polls >= polls + 3);
      const quiet = await polling.status();
      expect(quiet.transfers).toEqual(settled.transfers);
      expect((quiet.poll as { changed: number }).changed).toBe((settled.poll as { changed: number }).changed);
    } finally {
      await polling.stop();
    }
  }, 120_000);

  it('names a queue that does not exist in one line at start-up', async () => {
    const bad = `${queueUrl}-missing`;
    const started = await runCli(
      [
        '--openssl-legacy-provider',
        BIN,
        'local',
        '--root',
        `${local.root}-2`,
        '--state',
        `${local.state}-2`,
        '--s3-port',
        '0',
        '--control-port',
        '0',
        '--s3-endpoint',
        endpoint(),
        '--events-queue',
        bad,
      ],
      chainEnv('test', 'test'),
    );
    expect(started.code).not.toBe(0);
    expect(started.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^bucketlink: S3EndpointUnusable: --events-queue .*-missing cannot be read/),
    ]);
  });
});
