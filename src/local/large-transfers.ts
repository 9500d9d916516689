import { readFile } from 'node:fs/promises';
import type { Config } from '../config.ts';
import type { ApplyResult } from '../core/types.ts';
import { largeFunction } from '../handlers.ts';
import { logger } from '../log.ts';
import type { ApplyDeps } from '../sync/deps.ts';
import type { LargeDeps } from '../sync/large.ts';
import { DEFAULT_LARGE_CONCURRENCY, DEFAULT_LARGE_PART_BYTES } from '../sync/large-config.ts';
import type { LargeTransferRequest, LargeTransfers } from '../sync/large-plan.ts';
import { largeDeps } from '../wiring.ts';
import { LocalStateMachine } from './stepfunctions.ts';

const LARGE_ASL = new URL('../../statemachines/large-transfer.asl.json', import.meta.url);

export interface LocalLargeTransfersOptions {
  config: Config;
  /** apply's dependencies; the large path's own hand-offs are added. */
  apply: ApplyDeps;
  thresholdBytes: number;
  partSize?: number;
  maxConcurrency?: number;
  /** Each execution's outcome: the committed transfer, apply's result when nothing large was left, or a failure. */
  onResult?: (result: ApplyResult) => void;
  /** Tests only (see LocalStateMachineOptions). */
  retryIntervalMs?: number;
  /** Tests only: S3 by ranges, wrapped (fault injection); default the real one over `config`'s endpoint. */
  ranges?: LargeDeps['ranges'];
}

export interface LocalLargeTransfers extends LargeTransfers {
  /** Executions started and not yet ended. */
  running(): number;
  /** Resolves once every execution (including ones started meanwhile) has ended. */
  drain(): Promise<void>;
}

/**
 * The large-file path of `bucketlink local`: statemachines/large-transfer.asl.json
 * run by aws-local-stepfunctions over the same large function Lambda runs.
 * `start` returns once the execution is under way, as StartExecution does.
 */
export async function startLocalLargeTransfers(
  options: LocalLargeTransfersOptions,
): Promise<LocalLargeTransfers> {
  const definition = JSON.parse(await readFile(LARGE_ASL, 'utf8'));
  const pending = new Set<Promise<void>>();
  const report = (result: ApplyResult) => options.onResult?.(result);
  let machine: LocalStateMachine | undefined;
  const transfers: LocalLargeTransfers = {
    thresholdBytes: options.thresholdBytes,
    partSize: options.partSize ?? DEFAULT_LARGE_PART_BYTES,
    maxConcurrency: options.maxConcurrency ?? DEFAULT_LARGE_CONCURRENCY,
    start: async (request: LargeTransferRequest) => {
      const execution = machine!.run(request).then(
        (output) => {
          const out = output as ApplyResult | { proceed: false; result: ApplyResult };
          report('outcome' in out ? out : out.result);
        },
        (error: Error) => {
          logger.warn('large transfer failed', {
            associationId: request.associationId,
            path: request.path,
            error,
          });
          report({
            associationId: request.associationId,
            path: request.path,
            action: 'none',
            outcome: 'failed',
            code: 'LargeTransferAborted',
            message: error.message,
            messageIds: [],
          });
        },
      );
      const tracked = execution.finally(() => pending.delete(tracked));
      pending.add(tracked);
    },
    running: () => pending.size,
    drain: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
  const built = largeDeps(options.config, { ...options.apply, largeTransfers: transfers });
  const deps = options.ranges ? { ...built, ranges: options.ranges } : built;
  machine = new LocalStateMachine({
    definition,
    handlers: { LargeFunctionArn: largeFunction(deps) },
    ...(options.retryIntervalMs !== undefined ? { retryIntervalMs: options.retryIntervalMs } : {}),
  });
  return transfers;
}
