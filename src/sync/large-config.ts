import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { LargeTransferRequest, LargeTransfers } from './large-plan.ts';

/** The large-file path's settings, from the environment serverless.yml gives apply and the large function. */

const GiB = 1024 * 1024 * 1024;
export const DEFAULT_LARGE_FILE_BYTES = GiB;
export const DEFAULT_LARGE_PART_BYTES = 64 * 1024 * 1024;
export const DEFAULT_LARGE_CONCURRENCY = 8;

const bytes = z.coerce.number().int().positive();
const environment = z.object({
  /** The large-transfer state machine; unset: every transfer stays on the Express path. */
  BUCKETLINK_LARGE_MACHINE_ARN: z.string().min(1).optional(),
  BUCKETLINK_LARGE_FILE_BYTES: bytes.default(DEFAULT_LARGE_FILE_BYTES),
  BUCKETLINK_LARGE_PART_BYTES: bytes.default(DEFAULT_LARGE_PART_BYTES),
  BUCKETLINK_LARGE_CONCURRENCY: z.coerce.number().int().min(1).max(1000).default(DEFAULT_LARGE_CONCURRENCY),
});

export interface LargeTransferConfig {
  stateMachineArn?: string;
  thresholdBytes: number;
  partSize: number;
  maxConcurrency: number;
}

export function largeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LargeTransferConfig {
  const parsed = environment.parse(env);
  return {
    stateMachineArn: parsed.BUCKETLINK_LARGE_MACHINE_ARN,
    thresholdBytes: parsed.BUCKETLINK_LARGE_FILE_BYTES,
    partSize: parsed.BUCKETLINK_LARGE_PART_BYTES,
    maxConcurrency: parsed.BUCKETLINK_LARGE_CONCURRENCY,
  };
}

/** Starts executions of the deployed machine, named after the transfer (its lease owner too). */
export function stepFunctionsLargeTransfers(
  config: LargeTransferConfig & { stateMachineArn: string },
  client: Pick<SFNClient, 'send'>,
): LargeTransfers {
  return {
    thresholdBytes: config.thresholdBytes,
    partSize: config.partSize,
    maxConcurrency: config.maxConcurrency,
    start: async (request: LargeTransferRequest) => {
      await client.send(
        new StartExecutionCommand({
          stateMachineArn: config.stateMachineArn,
          name: request.transferId,
          input: JSON.stringify(request),
        }),
      );
    },
  };
}
