import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import { z } from 'zod';
import type { ObjectStore } from './adapters/ports.ts';
import { type ControlDeps, controlRequest, handleControl } from './control/associations.ts';
import { checkHealth } from './control/lifecycle.ts';
import { BadRequestError, errorCode, MalformedEventError } from './core/errors.ts';
import { pipeBatch } from './core/events.ts';
import type { ApplyResult, WorkItem } from './core/types.ts';
import { logger } from './log.ts';
import { applyItem, applyPath } from './sync/apply.ts';
import { applyBatch, type BatchOptions } from './sync/batch.ts';
import type { ApplyDeps } from './sync/deps.ts';
import type { LargeDeps } from './sync/large.ts';
import { largeEvent, runLargeStep } from './sync/large-events.ts';
import { publishBatchMetrics } from './sync/metrics.ts';
import { type PlanDeps, planBatch } from './sync/plan.ts';
import { type Applied, drain } from './sync/queue.ts';
import { batchMetrics, failureReason, sentTimes, summarizeBatch } from './sync/summarize.ts';
import type { TaskControlDeps } from './tasks/control.ts';
import { listEvent, reportEvent, runListStep, runReportStep } from './tasks/events.ts';
import { TASK_TYPES, taskPolicy } from './tasks/model.ts';
import { reconcileAvailable } from './tasks/schedule.ts';
import type { TaskDeps } from './tasks/steps.ts';

/**
 * The handlers' inner functions, built from injected dependencies. The
 * files in functions/ wrap them for Lambda; `bucketlink local` wraps the
 * very same ones for its state machines.
 */

const workItem = z.object({
  associationId: z.string().min(1),
  path: z.string().min(1),
  kindHint: z.enum(['file', 'dir', 'symlink']).optional(),
  messageIds: z.array(z.string()).default([]),
  renamedFrom: z.string().min(1).optional(),
});

/** A repository task's BatchInput names the task (src/tasks/steps.ts); the sync machine's has none. */
const taskBatch = z.object({ taskId: z.string(), type: z.enum(TASK_TYPES) });

/** One item (inline Map) or a Distributed Map batch (`{ Items, BatchInput }`). */
const applyInput = z.union([
  workItem,
  z.object({ Items: z.array(workItem), BatchInput: z.record(z.string(), z.unknown()).optional() }),
]);

const summarizeInput = z.object({
  results: z.array(z.object({ outcome: z.string(), messageIds: z.array(z.string()) }).passthrough()),
  failures: z.array(z.object({ messageId: z.string(), code: z.string(), message: z.string() })),
  /** Optional, for the Lag metric: the batch's message ids and their SQS SentTimestamps, in batch order. */
  messageIds: z.array(z.string()).optional(),
  sentTimestamps: z.array(z.string()).optional(),
  /** Echoes plan dropped, by association. */
  echoes: z.record(z.string(), z.number().int().nonnegative()).optional(),
});

/** Parses a handler's input; a mismatch is a MalformedEvent (events) or, with BadRequestError, a caller's bad request. */
function parse<T extends z.ZodType>(
  schema: T,
  event: unknown,
  Invalid: new (message: string) => Error = MalformedEventError,
): z.output<T> {
  const parsed = schema.safeParse(event);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new Invalid(`${issue?.path.join('.') || 'input'}: ${issue?.message}`);
}

export function planFunction(deps: PlanDeps) {
  return async (event: unknown) => {
    const output = await planBatch(parse(pipeBatch, event), deps);
    for (const { message: why, ...rejected } of output.rejected)
      logger.warn('key refused', { ...rejected, why });
    for (const { message: why, ...failure } of output.failures)
      logger.warn('malformed event', { ...failure, why });
    return output;
  };
}

/**
 * One path (`WorkItem`, the shape an inline Map hands a path) or a batch
 * (`{ Items }`: the sync machine's Apply and the task machine's
 * Distributed Map batches), applied by src/sync/batch.ts. `options` is for
 * tests: a short retry interval, as LocalStateMachine's `retryIntervalMs`.
 */
export type ApplyFunctionOptions = Pick<BatchOptions, 'retryIntervalMs'>;

export function applyFunction(deps: ApplyDeps, options: ApplyFunctionOptions = {}) {
  // One path through the phases (src/sync/apply.ts); its follow-up items are queued by drain/applyBatch.
  const one = async (item: WorkItem, batchDeps = deps): Promise<Applied> => {
    const started = Date.now();
    const applied = await applyPath(item, batchDeps);
    const { result } = applied;
    // One line per file is DEBUG (a person reads the summaries); a path skipped for a reason they must fix is a WARN.
    if (result.outcome === 'done' || result.outcome === 'skipped') {
      const log = result.outcome === 'skipped' && result.code ? logger.warn : logger.debug;
      log.call(logger, 'applied', {
        associationId: result.associationId,
        path: result.path,
        action: result.action,
        reason: result.reason,
        code: result.code,
        bytes: result.bytes,
        ms: Date.now() - started,
      });
    }
    return applied;
  };
  return async (event: unknown): Promise<ApplyResult | { results: ApplyResult[] }> => {
    const input = parse(applyInput, event);
    if (!('Items' in input)) return drain(input, (item) => one(item));
    // One batch's items share their association: read each once per batch, not per path.
    const associations = new Map<string, ReturnType<ApplyDeps['getAssociation']>>();
    // A repository task's batch is decided with the task's policies (src/tasks/model.ts).
    const task = taskBatch.safeParse(input.BatchInput);
    const read = (id: string) =>
      deps
        .getAssociation(id)
        .then((association) =>
          association && task.success ? taskPolicy(association, task.data.type) : association,
        );
    const batchDeps: ApplyDeps = {
      ...deps,
      getAssociation: (id) => {
        if (!associations.has(id)) associations.set(id, read(id));
        return associations.get(id)!;
      },
    };
    const results = await applyBatch(input.Items, (item) => one(item, batchDeps), {
      ...options,
      onFailure: (item, error, willRetry) =>
        logger.warn(willRetry ? 'apply failed, retrying' : 'apply failed', {
          associationId: item.associationId,
          path: item.path,
          code: errorCode(error),
        }),
    });
    return { results };
  };
}

/**
 * The Pipe's batchItemFailures; logs why each failed message goes back to
 * SQS (and, after the last receive, to the DLQ). With `metrics` (Lambda),
 * also publishes the batch's metrics.
 */
export function summarizeFunction(options: { metrics?: Metrics } = {}) {
  return async (event: unknown) => {
    const input = parse(summarizeInput, event);
    const results = input.results as unknown as ApplyResult[];
    for (const { messageId, code, message: why } of input.failures)
      logger.error('batch item failed', { messageId, code, why });
    for (const result of results) {
      if (result.outcome !== 'failed') continue;
      const { associationId, path, messageIds, code } = result;
      logger.error('batch item failed', {
        associationId,
        path,
        messageIds,
        code,
        why: failureReason(result.message),
      });
    }
    const moved = results.filter((result) => result.outcome === 'done');
    if (results.length)
      logger.info('batch synced', {
        paths: results.length,
        transferred: moved.length,
        bytes: moved.reduce((sum, result) => sum + (result.bytes ?? 0), 0),
        failed: results.filter((result) => result.outcome === 'failed').length,
        conflicts: results.filter((result) => result.conflict).length,
      });
    if (options.metrics) {
      const sent = sentTimes(input.messageIds, input.sentTimestamps);
      publishBatchMetrics(
        options.metrics,
        batchMetrics(results, input.failures, sent, Date.now(), input.echoes),
      );
    }
    return summarizeBatch(results, input.failures);
  };
}

/**
 * The large-file path's steps (statemachines/large-transfer.asl.json): prepare, part, commit, abort.
 * A step that hands the path back (`resync`) has it synced here, through apply, before it returns:
 * Prepare's result becomes the path's; after Commit or Abort the re-plan is quiet (logged if it fails).
 */
export function largeFunction(deps: LargeDeps) {
  return async (event: unknown) => {
    const output = await runLargeStep(parse(largeEvent, event), deps);
    if (!('resync' in output) || !output.resync) return output;
    const { resync, ...rest } = output;
    if ('proceed' in rest && !rest.proceed) return { ...rest, result: await applyItem(resync, deps) };
    await applyItem(resync, deps).catch((error) =>
      logger.warn('re-plan after a large transfer failed', { path: resync.path, error }),
    );
    return rest;
  };
}

export function controlFunction(deps: ControlDeps) {
  return async (event: unknown) => handleControl(parse(controlRequest, event, BadRequestError), deps);
}

/** Repository tasks: Start (walk manifest) and Prepare (listed items → work items). */
export function listFunction(deps: TaskDeps) {
  return async (event: unknown) => runListStep(parse(listEvent, event), deps);
}

/** Repository tasks: Tally (a batch's results → counters, failures) and Finish (lifecycle, report). */
export function reportFunction(deps: TaskDeps) {
  return async (event: unknown) => runReportStep(parse(reportEvent, event), deps);
}

const scheduleEvent = z.object({ type: z.enum(['RECONCILE', 'HEALTH']) });

/**
 * EventBridge Scheduler: `RECONCILE`, a RECONCILE task of every available
 * association; `HEALTH`, the association health check (a recovered one is
 * reconciled at once; src/control/lifecycle.ts).
 */
export function scheduleFunction(deps: TaskControlDeps & { store: ObjectStore }) {
  return async (event: unknown) => {
    if (parse(scheduleEvent, event).type === 'HEALTH') {
      const changed = await checkHealth({ associations: deps.associations, store: deps.store, tasks: deps });
      logger.info('association health', { changed: changed.map((a) => [a.associationId, a.lifecycle]) });
      return { changed: changed.map((a) => ({ associationId: a.associationId, lifecycle: a.lifecycle })) };
    }
    const outcome = await reconcileAvailable(deps);
    for (const failed of outcome.failed) logger.warn('scheduled reconcile not started', failed);
    logger.info('scheduled reconcile', {
      started: outcome.started.length,
      skipped: outcome.skipped.length,
      failed: outcome.failed.length,
    });
    return outcome;
  };
}

/**
 * Wraps an inner function for Lambda: middy, Powertools context in every
 * log line, and with `metrics` the stored metrics flushed after each call.
 */
export function lambda<T>(inner: (event: unknown) => Promise<T>, metrics?: Metrics) {
  const handler = middy(inner).use(injectLambdaContext(logger));
  return metrics ? handler.use(logMetrics(metrics)) : handler;
}

/** A handler whose dependencies are built on first use (cold start), not at import. */
export function lazy<T>(build: () => (event: unknown) => Promise<T>, metrics?: Metrics) {
  let built: ReturnType<typeof lambda<T>> | undefined;
  return (event: unknown, context: Parameters<ReturnType<typeof lambda<T>>>[1]) => {
    built ??= lambda(build(), metrics);
    return built(event, context);
  };
}
