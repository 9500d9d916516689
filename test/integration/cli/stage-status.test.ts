import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAssociationStore } from '../../../src/adapters/association-store.ts';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import { defaultTableNames, ensureTables } from '../../../src/adapters/tables.ts';
import { DynamoTaskStore } from '../../../src/adapters/task-store.ts';
import { stageStatus } from '../../../src/cli/stage-status.ts';
import { formatStatus } from '../../../src/cli/status-format.ts';

/**
 * `bucketlink status --stage` against moto (DynamoDB and CloudWatch in one
 * real server): the stack's tables and the metrics summarize publishes, read
 * with the SDK clients a deployed stack is read with.
 */

const MOTO = '/work/shared/peers/moto/start.sh';
const exec = promisify(execFile);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(!existsSync(MOTO))(
  'bucketlink status --stage reads the deployed tables and CloudWatch',
  () => {
    let pid: number | undefined;
    let endpoint = '';
    const stage = 'h6test';
    const now = Date.now();

    beforeAll(async () => {
      const port = await freePort();
      const { stdout } = await exec(MOTO, [String(port)], { timeout: 90_000 });
      pid = Number(stdout.trim().split('\n').pop());
      endpoint = `http://127.0.0.1:${port}`;
    }, 120_000);
    afterAll(() => {
      if (pid) process.kill(pid);
    });

    it('shows each association with its lifecycle and the last 15 minutes of its metrics', async () => {
      const documents = createDocumentClient({ endpoint });
      const tables = defaultTableNames(`bucketlink-${stage}`);
      await ensureTables(documents, tables);
      const association = {
        associationId: 'dra-0123456789abcdef0',
        fileSystemPath: '/logs',
        dataRepositoryPath: 's3://logs/',
        autoImport: ['NEW' as const],
        autoExport: ['NEW' as const],
        batchImportMetaDataOnCreate: true,
        conflictPolicy: 'KEEP_BOTH' as const,
        lifecycle: 'MISCONFIGURED' as const,
        failureDetails: { message: 'bucket logs: AccessDenied' },
        creationTime: new Date(now - 3_600_000).toISOString(),
      };
      await new DynamoAssociationStore({ client: documents, tableName: tables.associations }).put(
        association,
      );
      await new DynamoTaskStore({ client: documents, tableName: tables.tasks }).create({
        taskId: 'task-0123456789abcdef0',
        type: 'RECONCILE',
        associationId: association.associationId,
        lifecycle: 'EXECUTING',
        paths: [],
        creationTime: new Date(now - 60_000).toISOString(),
        status: {
          totalCount: 10,
          succeededCount: 5,
          failedCount: 0,
          transferredBytes: 0,
          lastUpdatedTime: '',
        },
      });
      const cloudwatch = new CloudWatchClient({
        endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      const dimensions = [
        { Name: 'service', Value: 'bucketlink' },
        { Name: 'associationId', Value: association.associationId },
      ];
      await cloudwatch.send(
        new PutMetricDataCommand({
          Namespace: 'bucketlink',
          MetricData: [
            { MetricName: 'Transfers', Dimensions: dimensions, Value: 3, Timestamp: new Date(now - 120_000) },
            { MetricName: 'Transfers', Dimensions: dimensions, Value: 4, Timestamp: new Date(now - 60_000) },
            {
              MetricName: 'TransferredBytes',
              Dimensions: dimensions,
              Value: 2048,
              Timestamp: new Date(now - 60_000),
            },
            {
              MetricName: 'Lag',
              Dimensions: dimensions,
              Value: 1500,
              Unit: 'Milliseconds',
              Timestamp: new Date(now - 60_000),
            },
            // An hour old: outside the 15-minute window.
            {
              MetricName: 'Transfers',
              Dimensions: dimensions,
              Value: 100,
              Timestamp: new Date(now - 3_600_000),
            },
          ],
        }),
      );

      const view = await stageStatus({ stage, documents, cloudwatch, now: () => now });

      expect(view.associations).toHaveLength(1);
      expect(view.associations[0]).toMatchObject({
        associationId: association.associationId,
        lifecycle: 'MISCONFIGURED',
        failureDetails: { message: 'bucket logs: AccessDenied' },
        transfersLast15Minutes: 7,
        bytesLast15Minutes: 2048,
        maxLagSeconds: 1.5,
      });
      expect(view.tasks?.[0]).toMatchObject({ taskId: 'task-0123456789abcdef0', lifecycle: 'EXECUTING' });
      const text = formatStatus(view);
      expect(text).toMatch(/dra-0123456789abcdef0\s+\/logs\s+s3:\/\/logs\/\s+MISCONFIGURED/);
      expect(text).toContain('dra-0123456789abcdef0 MISCONFIGURED: bucket logs: AccessDenied');
      expect(text).toMatch(/task-0123456789abcdef0\s+RECONCILE\s+EXECUTING\s+\[#{10}-{10}\]\s+50 %/);
    });
  },
);
