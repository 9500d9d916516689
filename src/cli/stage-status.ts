import {
  CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
} from '@aws-sdk/client-cloudwatch';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAssociationStore } from '../adapters/association-store.ts';
import { createDocumentClient } from '../adapters/clients.ts';
import { DynamoTaskStore } from '../adapters/task-store.ts';
import type { StatusViewLike } from './status-format.ts';

/**
 * `bucketlink status --stage NAME`: the deployed stack's view, read where it
 * lives: associations and tasks from its DynamoDB tables, and the last 15
 * minutes of the metrics summarize publishes (namespace `bucketlink`, per
 * association) plus the buffer queue's age of oldest message from CloudWatch.
 */

const WINDOW_MS = 15 * 60_000;
const PERIOD_S = 60;
const NAMESPACE = 'bucketlink';

export interface StageStatusOptions {
  stage: string;
  region?: string;
  /** Injected in tests; built from the region and the usual credential chain otherwise. */
  documents?: DynamoDBDocumentClient;
  cloudwatch?: Pick<CloudWatchClient, 'send'>;
  now?: () => number;
}

type Stat = 'Sum' | 'Maximum';
const PER_ASSOCIATION: Array<[metric: string, stat: Stat, field: string]> = [
  ['Transfers', 'Sum', 'transfers'],
  ['TransferredBytes', 'Sum', 'bytes'],
  ['Conflicts', 'Sum', 'conflicts'],
  ['Lag', 'Maximum', 'lag'],
];

function query(
  id: string,
  namespace: string,
  metric: string,
  stat: Stat,
  dimensions: Record<string, string>,
) {
  return {
    Id: id,
    MetricStat: {
      Metric: {
        Namespace: namespace,
        MetricName: metric,
        Dimensions: Object.entries(dimensions).map(([Name, Value]) => ({ Name, Value })),
      },
      Period: PERIOD_S,
      Stat: stat,
    },
    ReturnData: true,
  } satisfies MetricDataQuery;
}

/** GetMetricData for every query, following NextToken, at most 500 queries per call. */
async function metricData(
  cloudwatch: Pick<CloudWatchClient, 'send'>,
  queries: MetricDataQuery[],
  start: Date,
  end: Date,
): Promise<Map<string, MetricDataResult>> {
  const results = new Map<string, MetricDataResult>();
  for (let i = 0; i < queries.length; i += 500) {
    let nextToken: string | undefined;
    do {
      const page = await cloudwatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: queries.slice(i, i + 500),
          StartTime: start,
          EndTime: end,
          NextToken: nextToken,
        }),
      );
      for (const result of page.MetricDataResults ?? []) {
        const known = results.get(result.Id!);
        if (known) known.Values = [...(known.Values ?? []), ...(result.Values ?? [])];
        else results.set(result.Id!, { ...result, Values: [...(result.Values ?? [])] });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return results;
}

const sum = (values: number[] | undefined) => (values ?? []).reduce((a, b) => a + b, 0);
const max = (values: number[] | undefined) => (values?.length ? Math.max(...values) : null);

export async function stageStatus(
  options: StageStatusOptions,
): Promise<StatusViewLike & Record<string, unknown>> {
  const documents = options.documents ?? createDocumentClient({ region: options.region });
  const cloudwatch =
    options.cloudwatch ?? new CloudWatchClient(options.region ? { region: options.region } : {});
  const prefix = `bucketlink-${options.stage}`;
  const associations = await new DynamoAssociationStore({
    client: documents,
    tableName: `${prefix}-associations`,
  }).list();
  const tasks = await new DynamoTaskStore({ client: documents, tableName: `${prefix}-tasks` }).list();
  const end = new Date(options.now?.() ?? Date.now());
  const start = new Date(end.getTime() - WINDOW_MS);
  const queries: MetricDataQuery[] = [
    query('queueAge', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 'Maximum', {
      QueueName: `${prefix}-buffer`,
    }),
    query('queueDepth', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', {
      QueueName: `${prefix}-buffer`,
    }),
    query('dlqDepth', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', {
      QueueName: `${prefix}-dlq`,
    }),
  ];
  associations.forEach((association, index) => {
    for (const [metric, stat, field] of PER_ASSOCIATION)
      queries.push(
        query(`a${index}_${field}`, NAMESPACE, metric, stat, {
          service: NAMESPACE,
          associationId: association.associationId,
        }),
      );
  });
  const data = await metricData(cloudwatch, queries, start, end);
  // Values come newest first; the first is the latest minute.
  const latestQueueAge = data.get('queueAge')?.Values?.[0] ?? null;
  const rows = associations.map((association, index) => {
    const values = (field: string) => data.get(`a${index}_${field}`)?.Values;
    const lagMs = max(values('lag'));
    return {
      associationId: association.associationId,
      fileSystemPath: association.fileSystemPath,
      dataRepositoryPath: association.dataRepositoryPath,
      lifecycle: association.lifecycle,
      failureDetails: association.failureDetails ?? null,
      pathsInSync: null,
      pendingChanges: null,
      oldestPendingAgeSeconds: null,
      transfersLast15Minutes: sum(values('transfers')),
      transfersLastMinute: values('transfers')?.[0] ?? 0,
      bytesLast15Minutes: sum(values('bytes')),
      conflicts: sum(values('conflicts')),
      maxLagSeconds: lagMs === null ? null : lagMs / 1000,
    };
  });
  return {
    stage: options.stage,
    generatedAt: end.toISOString(),
    // SQS's own view: messages waiting in the buffer queue, and the age of the oldest (latest minute).
    pending: { changes: data.get('queueDepth')?.Values?.[0] ?? 0, oldestAgeSeconds: latestQueueAge },
    deadLetterDepth: data.get('dlqDepth')?.Values?.[0] ?? 0,
    transfers: { total: sum(rows.map((r) => r.transfersLast15Minutes)) },
    conflicts: sum(rows.map((r) => r.conflicts)),
    associations: rows,
    tasks: [...tasks].sort((a, b) => b.creationTime.localeCompare(a.creationTime)).slice(0, 50),
  };
}
