import { settleCreation } from '../control/lifecycle.ts';
import type { ApplyResult, WorkItem } from '../core/types.ts';
import { logger } from '../log.ts';
import type { RepositoryTask, TaskFailure } from './model.ts';
import { writeReport } from './report.ts';
import { ledgerManifestKey, manifestKey, objectManifestKey } from './start.ts';
import { type BatchInput, mustGetTask, type TaskDeps } from './steps.ts';

/**
 * Tally (one batch's results → the task's counters and failed paths) and
 * Finish (the final lifecycle, the report), the repository-task machine's
 * bookkeeping steps.
 */

/** Whether one apply result counts as a failure in a task: failed, or refused with a code. */
export function isTaskFailure(result: ApplyResult): boolean {
  return result.outcome === 'failed' || (result.outcome === 'skipped' && result.code !== undefined);
}

export interface TallyInput {
  BatchInput: BatchInput;
  Items: WorkItem[];
  refused: TaskFailure[];
  ignored: number;
  /** Items Prepare found in sync: done, without an apply. */
  unchanged: number;
  /** Items Start did not count (the ledger pass's stale rows): added to the total. */
  added?: number;
  /** The apply results, or absent when the whole Apply step failed (`error`). */
  results?: ApplyResult[];
  error?: { Error: string; Cause?: string };
}

/** Adds one batch's outcome to its task: counters, and the failed paths for the report. */
export async function tallyBatch(
  input: TallyInput,
  deps: TaskDeps,
): Promise<{ succeeded: number; failed: number; failures: TaskFailure[] }> {
  const failures: TaskFailure[] = [...input.refused];
  let succeeded = input.unchanged;
  let bytes = 0;
  if (input.results) {
    for (const result of input.results) {
      if (isTaskFailure(result)) failures.push({ path: result.path, code: result.code ?? 'Unknown' });
      else succeeded++;
      bytes += result.bytes ?? 0;
    }
  } else {
    const code = input.error?.Error ?? 'Unknown';
    for (const item of input.Items) failures.push({ path: item.path, code });
  }
  const added = input.added ?? 0;
  if (succeeded + failures.length + input.ignored + added > 0) {
    await deps.tasks.addProgress(
      input.BatchInput.taskId,
      { total: added - input.ignored, succeeded, failed: failures.length, bytes },
      failures,
    );
  }
  return { succeeded, failed: failures.length, failures };
}

/** How many failed paths a task's failureDetails names; the report has them all. */
const NAMED_FAILURES = 10;

/**
 * Ends a task: CANCELED if a cancel arrived, FAILED if the run broke
 * (`error`) or any path failed (as FSx: a failed file fails the task, and
 * failureDetails names the first ones), else SUCCEEDED; then writes the
 * report and drops the manifest.
 */
export async function finishTask(
  taskId: string,
  error: { Error: string; Cause?: string } | undefined,
  deps: TaskDeps,
): Promise<RepositoryTask> {
  const endTime = new Date().toISOString();
  const canceled = await deps.tasks.transition(taskId, ['CANCELING'], 'CANCELED', { endTime });
  if (!canceled) {
    const current = await mustGetTask(taskId, deps);
    const problems = [
      ...(error ? [`${error.Error}: ${causeMessage(error.Cause)}`] : []),
      ...(current.status.failedCount > 0 ? [await failuresMessage(current, deps)] : []),
    ];
    await deps.tasks.transition(taskId, ['PENDING', 'EXECUTING'], problems.length ? 'FAILED' : 'SUCCEEDED', {
      endTime,
      failureDetails: problems.length ? { message: problems.join('; ') } : undefined,
    });
  }
  const task = await mustGetTask(taskId, deps);
  await settleCreation(task, deps, { broke: error !== undefined });
  if (task.lifecycle === 'FAILED') {
    // A failed task is the user's to act on: say which and why where they look first.
    logger.error('repository task FAILED', {
      action: 'finishTask',
      taskId,
      type: task.type,
      associationId: task.associationId,
      reason: task.failureDetails?.message,
      failedCount: task.status.failedCount,
    });
  }
  await writeReport(deps.store, task, deps.tasks.failures(taskId));
  for (const key of [manifestKey(taskId), objectManifestKey(taskId), ledgerManifestKey(taskId)]) {
    await deps.store.delete(deps.manifestBucket, key).catch(() => undefined);
  }
  return task;
}

/** `2 of 40 paths failed: a.txt (Transient), b/c (AccessDenied)`, with the first few paths named. */
async function failuresMessage(task: RepositoryTask, deps: TaskDeps): Promise<string> {
  const named: TaskFailure[] = [];
  for await (const part of deps.tasks.failures(task.taskId)) {
    named.push(...part.slice(0, NAMED_FAILURES - named.length));
    if (named.length >= NAMED_FAILURES) break;
  }
  const { failedCount, totalCount } = task.status;
  const listed = named.map((failure) => `${failure.path} (${failure.code})`).join(', ');
  const more = failedCount > named.length ? ` and ${failedCount - named.length} more` : '';
  const where = task.report
    ? `the report under ${task.report.path} lists them all`
    : 'run with --report for the full list';
  return `${failedCount} of ${totalCount} paths failed: ${listed}${more} (${where})`;
}

/** A Catch's Cause is the Lambda runtime's error JSON; keep its message. */
function causeMessage(cause: string | undefined): string {
  try {
    return (JSON.parse(cause ?? '') as { errorMessage?: string }).errorMessage ?? cause ?? '';
  } catch {
    return cause ?? '';
  }
}
