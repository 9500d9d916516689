import { z } from 'zod';
import { ALL_CHANGES } from '../core/association.ts';
import { SyncError } from '../core/errors.ts';
import type { SyncPolicy } from '../core/types.ts';

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
  /** Relative paths (under the association root) that narrow the task; empty = everything. `--paths` takes file-system paths too (resolveTaskPaths). */
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

/** A `--paths` entry that names nothing inside the task's association. */
export class TaskPathOutsideAssociationError extends SyncError {
  constructor(path: string, fileSystemPath: string) {
    super(
      'BadRequest',
      `path ${JSON.stringify(path)} is outside the association at ${fileSystemPath}: give a file-system path under ${fileSystemPath} (as FSx does) or one relative to it`,
    );
  }
}

/**
 * Resolves `--paths` entries to relative paths under the association root,
 * refusing anything outside it. An entry that starts with `/` is a
 * file-system path, as FSx task paths are (`/demo/docs` for the
 * association at `/demo`); any other is relative to the association root
 * (`docs`). `.` and `..` segments are refused rather than resolved, so a
 * path means what it says. '' never appears: the root itself means
 * everything, which an empty list already says.
 */
export function resolveTaskPaths(paths: string[], fileSystemPath: string): string[] {
  const resolved: string[] = [];
  for (const raw of paths) {
    let rest = raw.trim();
    if (rest.startsWith('/')) {
      const under = fileSystemPath === '/' ? '' : fileSystemPath;
      if (rest !== under && !rest.startsWith(`${under}/`)) {
        throw new TaskPathOutsideAssociationError(raw, fileSystemPath);
      }
      rest = rest.slice(under.length);
    }
    const segments = rest.split('/').filter((segment) => segment !== '');
    if (segments.some((segment) => segment === '.' || segment === '..' || segment.includes('\0'))) {
      throw new TaskPathOutsideAssociationError(raw, fileSystemPath);
    }
    // The root itself: the task is not narrowed at all.
    if (segments.length === 0) return [];
    resolved.push(segments.join('/'));
  }
  return resolved;
}

/** Whether a relative path lies inside one of the task's paths (or the task is not narrowed). */
export function withinTaskPaths(path: string, paths: string[]): boolean {
  if (paths.length === 0) return true;
  return paths.some((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * The policies a task's items are decided with (docs/tasks.md). An import
 * or export task is how data moves when automatic sync is off, so it opens
 * its own direction whatever the association's automatic policy says; the
 * other direction stays as the association has it, and conflicts still go
 * by its conflict policy. RECONCILE repairs what automatic sync would have
 * done had it seen every event, so it keeps the association's policies.
 */
export function taskPolicy<T extends SyncPolicy>(association: T, type: TaskType): T {
  if (type === 'IMPORT_METADATA_FROM_REPOSITORY') return { ...association, autoImport: [...ALL_CHANGES] };
  if (type === 'EXPORT_TO_REPOSITORY') return { ...association, autoExport: [...ALL_CHANGES] };
  return association;
}
