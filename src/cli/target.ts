import { Option } from 'commander';
import type { TargetOptions } from './stage.ts';

/**
 * The options every management command takes to say where it goes: the
 * local control endpoint (`--endpoint`), or a deployed stack's `control`
 * function (`--stage NAME [--region R]`).
 */

export const DEFAULT_ENDPOINT = 'http://127.0.0.1:4567';

export function endpointOption(): Option {
  return new Option('--endpoint <url>', 'control endpoint of `bucketlink local`')
    .env('BUCKETLINK_ENDPOINT')
    .default(DEFAULT_ENDPOINT);
}

export function stageOption(): Option {
  return new Option('--stage <name>', 'invoke the deployed stack’s control function, not --endpoint');
}

export function regionOption(): Option {
  return new Option('--region <region>', 'AWS region of the --stage stack (default: the AWS SDK’s)');
}

/** The target flags that reach the same place again, for a command line printed to the user. */
export function targetFlags(options: TargetOptions): string[] {
  if (options.stage)
    return ['--stage', options.stage, ...(options.region ? ['--region', options.region] : [])];
  return options.endpoint === DEFAULT_ENDPOINT ? [] : ['--endpoint', options.endpoint];
}
