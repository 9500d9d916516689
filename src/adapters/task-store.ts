import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { RepositoryTask, TaskFailure, TaskLifecycle } from '../tasks/model.ts';
import type { TaskProgress, TaskStore } from './ports.ts';

export type { TaskProgress } from './ports.ts';

/** Options of DynamoTaskStore. */
export interface DynamoTaskStoreOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/**
 * Repository tasks in the tasks table (key `taskId`). A task's failed paths
 * are kept beside it as numbered part items (`<taskId>#part#<n>`), one per
 * batch that had failures, so no item grows with the task and the report is
 * written by reading parts one at a time.
 */
export class DynamoTaskStore implements TaskStore {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;

  constructor(options: DynamoTaskStoreOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
  }

  async create(task: RepositoryTask): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...task, itemType: 'task', failureParts: 0 },
        ConditionExpression: 'attribute_not_exists(taskId)',
      }),
    );
  }

  async get(taskId: string): Promise<RepositoryTask | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { taskId }, ConsistentRead: true }),
    );
    return Item?.itemType === 'task' ? toTask(Item) : undefined;
  }

  /** Every task, newest first (a Scan: tasks are few next to the objects they move). */
  async list(): Promise<RepositoryTask[]> {
    const tasks: RepositoryTask[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.tableName,
          ConsistentRead: true,
          FilterExpression: 'itemType = :task',
          ExpressionAttributeValues: { ':task': 'task' },
          ExclusiveStartKey,
        }),
      );
      tasks.push(...(page.Items ?? []).map(toTask));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return tasks.sort((a, b) => (a.creationTime < b.creationTime ? 1 : -1));
  }

  /**
   * Moves a task to `to` only if it is in one of `from` (so a cancel never
   * revives a finished task, and a finishing task never hides a cancel).
   * Returns whether it moved.
   */
  async transition(
    taskId: string,
    from: TaskLifecycle[],
    to: TaskLifecycle,
    extra: Partial<Pick<RepositoryTask, 'startTime' | 'endTime' | 'failureDetails'>> = {},
  ): Promise<boolean> {
    const names: Record<string, string> = { '#lifecycle': 'lifecycle' };
    const values: Record<string, unknown> = { ':to': to, ':now': new Date().toISOString() };
    const sets = ['#lifecycle = :to', '#status.lastUpdatedTime = :now'];
    names['#status'] = 'status';
    for (const [field, value] of Object.entries(extra)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    from.forEach((lifecycle, i) => {
      values[`:from${i}`] = lifecycle;
    });
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { taskId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: `#lifecycle IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /** Sets totalCount once the task's items are listed. */
  async setTotal(taskId: string, total: number): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { taskId },
        UpdateExpression: 'SET #status.totalCount = :total, #status.lastUpdatedTime = :now',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':total': total, ':now': new Date().toISOString() },
      }),
    );
  }

  /** Adds one batch's counts atomically (batches run concurrently) and keeps its failures as a part. */
  async addProgress(taskId: string, progress: TaskProgress, failures: TaskFailure[]): Promise<void> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { taskId },
        UpdateExpression:
          'SET #status.totalCount = #status.totalCount + :total, #status.succeededCount = #status.succeededCount + :ok, ' +
          '#status.failedCount = #status.failedCount + :failed, #status.transferredBytes = #status.transferredBytes + :bytes, ' +
          '#status.lastUpdatedTime = :now, failureParts = failureParts + :parts',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':total': progress.total,
          ':ok': progress.succeeded,
          ':failed': progress.failed,
          ':bytes': progress.bytes,
          ':now': new Date().toISOString(),
          ':parts': failures.length > 0 ? 1 : 0,
        },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    if (failures.length === 0) return;
    const part = Number(Attributes?.failureParts);
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { taskId: partKey(taskId, part), itemType: 'failures', failures },
      }),
    );
  }

  /** The task's failed paths, one part at a time. */
  async *failures(taskId: string): AsyncGenerator<TaskFailure[]> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { taskId }, ConsistentRead: true }),
    );
    const parts = Number(Item?.failureParts ?? 0);
    for (let part = 1; part <= parts; part++) {
      const { Item: stored } = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { taskId: partKey(taskId, part) },
          ConsistentRead: true,
        }),
      );
      // A part's counter was taken but its item not yet written only if that batch crashed in between.
      if (stored) yield stored.failures as TaskFailure[];
    }
  }
}

function partKey(taskId: string, part: number): string {
  return `${taskId}#part#${part}`;
}

function toTask(item: Record<string, unknown>): RepositoryTask {
  const { itemType: _type, failureParts: _parts, ...task } = item;
  return task as unknown as RepositoryTask;
}
