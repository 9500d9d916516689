import { z } from 'zod';

/**
 * Repository tasks (FSx "data repository tasks"): bulk work over one
 * association, run by the `repository-task` state machine.
 */

export const TASK_TYPES = ['IMPORT_METADATA_FROM_REPOSITORY', 'EXPORT_TO_REPOSITORY', 'RECONCILE'] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export const TASK_LIFECYCLES = [
  'PENDING',
  'EXECUTING',
  'FAILED',
  'SUCCEEDED',
  'CANCELING',
  'CANCELED',
] as const;
export type TaskLifecycle = (typeof TASK_LIFECYCLES)[number];

/** Lifecycles a task never leaves. */
export const FINAL_LIFECYCLES: ReadonlySet<TaskLifecycle> = new Set(['FAILED', 'SUCCEEDED', 'CANCELED']);

export interface TaskStatus {
  totalCount: number;
  succeededCount: number;
  failedCount: number;
  /** Bytes moved by the task's transfers. */
  transferredBytes: number;
  /** ISO 8601. */
  lastUpdatedTime: string;
}

/** One repository task, as `tasks describe` shows it (FSx field names, camelCase). */
export interface RepositoryTask {
  /** `task-` followed by 17 hex digits, as FSx. */
  taskId: string;
  type: TaskType;
  associationId: string;
  lifecycle: TaskLifecycle;
  /** Relative paths (under the association root) that narrow the task; empty = everything. */
  paths: string[];
  /** `s3://bucket/prefix/` under which `task-<id>/failures.csv` is written. */
  report?: { path: string };
  creationTime: string;
  startTime?: string;
  endTime?: string;
  status: TaskStatus;
  failureDetails?: { message: string };
}

/** One failed path, as the report lists it. */
export interface TaskFailure {
  path: string;
  code: string;
}

export const createTaskInput = z.object({
  type: z.enum(TASK_TYPES),
  associationId: z.string().min(1),
  paths: z.array(z.string()).default([]),
  reportPath: z.string().optional(),
});

export type CreateTaskInput = z.output<typeof createTaskInput>;

/** A fresh task's zero counters. */
export function emptyStatus(now: Date): TaskStatus {
  return {
    totalCount: 0,
    succeededCount: 0,
    failedCount: 0,
    transferredBytes: 0,
    lastUpdatedTime: now.toISOString(),
  };
}

/**
 * Normalizes `--paths` entries to relative paths under the association
 * root ('' never: an empty list already means everything).
 */
export function normalizeTaskPaths(paths: string[]): string[] {
  return paths.map((path) => path.replace(/^\/+|\/+$/g, '')).filter((path) => path !== '');
}

/** Whether a relative path lies inside one of the task's paths (or the task is not narrowed). */
export function withinTaskPaths(path: string, paths: string[]): boolean {
  if (paths.length === 0) return true;
  return paths.some((p) => path === p || path.startsWith(`${p}/`));
}
