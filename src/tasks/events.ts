import { z } from 'zod';
import { logger } from '../log.ts';
import { finishTask, type TallyInput, tallyBatch } from './finish.ts';
import { TASK_TYPES } from './model.ts';
import { startTask } from './start.ts';
import { type ListedItem, prepareBatch, type TaskDeps } from './steps.ts';

/** What the `list` and `report` functions take from the repository-task machine. */

const batchInput = z.object({
  taskId: z.string().min(1),
  associationId: z.string().min(1),
  type: z.enum(TASK_TYPES),
  pass: z.enum(['objects', 'files', 'ledger']),
});

const listedItem = z.union([
  z.object({ Key: z.string() }).passthrough(),
  z.object({ path: z.string(), kind: z.enum(['file', 'dir', 'symlink']).optional() }),
]);

export const listEvent = z.discriminatedUnion('action', [
  z.object({ action: z.literal('start'), taskId: z.string().min(1) }),
  z.object({ action: z.literal('prepare'), Items: z.array(listedItem), BatchInput: batchInput }),
]);

const stepError = z.object({ Error: z.string(), Cause: z.string().optional() });

export const reportEvent = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('tally'),
    BatchInput: batchInput,
    Items: z.array(z.object({ associationId: z.string(), path: z.string() }).passthrough()),
    refused: z.array(z.object({ path: z.string(), code: z.string() })),
    ignored: z.number().int().nonnegative(),
    unchanged: z.number().int().nonnegative().default(0),
    added: z.number().int().nonnegative().default(0),
    results: z.array(z.object({ path: z.string(), outcome: z.string() }).passthrough()).optional(),
    error: stepError.optional(),
  }),
  z.object({ action: z.literal('finish'), taskId: z.string().min(1), error: stepError.nullish() }),
]);

/** The `list` function: Start a task, or Prepare one batch. */
export function runListStep(event: z.output<typeof listEvent>, deps: TaskDeps) {
  if (event.action === 'start') return startTask(event.taskId, deps);
  return prepareBatch(event.Items as ListedItem[], event.BatchInput, deps);
}

/** The `report` function: Tally one batch, or Finish the task. */
export async function runReportStep(event: z.output<typeof reportEvent>, deps: TaskDeps) {
  if (event.action === 'tally') {
    const tally = await tallyBatch(event as unknown as TallyInput, deps);
    // Failed paths are named at WARN as they happen, whether or not the task writes a report.
    const { taskId, associationId } = event.BatchInput;
    for (const { path, code } of tally.failures)
      logger.warn('task path failed', { taskId, associationId, path, code });
    return tally;
  }
  const task = await finishTask(event.taskId, event.error ?? undefined, deps);
  const { taskId, associationId, type, lifecycle, status, failureDetails } = task;
  const log = lifecycle === 'FAILED' ? logger.warn.bind(logger) : logger.info.bind(logger);
  log('task ended', { taskId, associationId, type, lifecycle, ...status, why: failureDetails?.message });
  return task;
}
