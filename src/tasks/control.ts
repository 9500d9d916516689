import { randomBytes } from 'node:crypto';
import type { AssociationStore, TaskStore } from '../adapters/ports.ts';
import { parseDataRepositoryPath } from '../core/association.ts';
import { AssociationNotFoundError, errorCode, SyncError } from '../core/errors.ts';
import {
  type CreateTaskInput,
  emptyStatus,
  FINAL_LIFECYCLES,
  type RepositoryTask,
  resolveTaskPaths,
  type TaskLifecycle,
} from './model.ts';
import { TaskNotFoundError } from './steps.ts';

/** What the control API needs for tasks (FSx CreateDataRepositoryTask and friends). */
export interface TaskControlDeps {
  tasks: TaskStore;
  associations: AssociationStore;
  /** Starts the task's execution (StartExecution on AWS, a LocalTaskMachine run locally). */
  startTask(task: RepositoryTask): Promise<void>;
  now?: () => Date;
}

export class InvalidReportPathError extends SyncError {
  constructor(message: string) {
    super('InvalidReportPath', message);
  }
}

export class TaskNotCancelableError extends SyncError {
  constructor(task: RepositoryTask) {
    super(
      'TaskNotCancelable',
      `task ${task.taskId} is ${task.lifecycle}; only PENDING or EXECUTING tasks can be canceled`,
    );
  }
}

/**
 * Creates a task PENDING and starts it. A report path must lie inside an
 * association's S3 location (as FSx asks), so a report is never written to
 * a place nobody linked.
 */
export async function createTask(input: CreateTaskInput, deps: TaskControlDeps): Promise<RepositoryTask> {
  const association = await deps.associations.get(input.associationId);
  if (!association) throw new AssociationNotFoundError(input.associationId);
  // Refused before the task exists: a path outside the association would match nothing, or worse.
  const paths = resolveTaskPaths(input.paths, association.fileSystemPath);
  let report: RepositoryTask['report'];
  if (input.reportPath !== undefined) {
    let location: ReturnType<typeof parseDataRepositoryPath>;
    try {
      location = parseDataRepositoryPath(
        input.reportPath.endsWith('/') ? input.reportPath : `${input.reportPath}/`,
      );
    } catch (error) {
      throw new InvalidReportPathError(
        `report path ${input.reportPath} is not an s3:// URL: ${(error as Error).message}`,
      );
    }
    const inside = (await deps.associations.list()).some((a) => {
      const linked = parseDataRepositoryPath(a.dataRepositoryPath);
      return linked.bucket === location.bucket && location.prefix.startsWith(linked.prefix);
    });
    if (!inside) {
      throw new InvalidReportPathError(
        `report path s3://${location.bucket}/${location.prefix} is outside every association's data repository path`,
      );
    }
    report = { path: `s3://${location.bucket}/${location.prefix}` };
  }
  const now = deps.now?.() ?? new Date();
  const task: RepositoryTask = {
    taskId: `task-${randomBytes(9).toString('hex').slice(0, 17)}`,
    type: input.type,
    associationId: association.associationId,
    lifecycle: 'PENDING',
    paths,
    ...(report ? { report } : {}),
    creationTime: now.toISOString(),
    status: emptyStatus(now),
  };
  await deps.tasks.create(task);
  try {
    await deps.startTask(task);
  } catch (error) {
    // Never started: say so, instead of a task PENDING forever. The start
    // error is what the caller needs, even if this write fails too.
    await deps.tasks
      .transition(task.taskId, ['PENDING'], 'FAILED', {
        endTime: new Date().toISOString(),
        failureDetails: { message: `task did not start: ${errorCode(error)}: ${(error as Error).message}` },
      })
      .catch(() => false);
    throw error;
  }
  return (await deps.tasks.get(task.taskId)) ?? task;
}

export interface DescribeTasksFilter {
  taskIds?: string[];
  associationId?: string;
  lifecycles?: TaskLifecycle[];
}

/** Tasks by id, or all of them filtered by association and lifecycle (newest first). */
export async function describeTasks(
  filter: DescribeTasksFilter,
  deps: TaskControlDeps,
): Promise<RepositoryTask[]> {
  const tasks = filter.taskIds?.length
    ? await Promise.all(
        filter.taskIds.map(async (id) => {
          const task = await deps.tasks.get(id);
          if (!task) throw new TaskNotFoundError(id);
          return task;
        }),
      )
    : await deps.tasks.list();
  return tasks.filter(
    (task) =>
      (!filter.associationId || task.associationId === filter.associationId) &&
      (!filter.lifecycles?.length || filter.lifecycles.includes(task.lifecycle)),
  );
}

/** CANCELING now; the execution skips queued batches, lets in-flight ones finish, and ends CANCELED. */
export async function cancelTask(taskId: string, deps: TaskControlDeps): Promise<RepositoryTask> {
  const task = await deps.tasks.get(taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  if (FINAL_LIFECYCLES.has(task.lifecycle)) throw new TaskNotCancelableError(task);
  await deps.tasks.transition(taskId, ['PENDING', 'EXECUTING'], 'CANCELING');
  return (await deps.tasks.get(taskId)) ?? task;
}
