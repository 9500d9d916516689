import { configFromEnv } from '../src/config.ts';
import { lazy, reportFunction } from '../src/handlers.ts';
import { taskConfigFromEnv } from '../src/tasks/config.ts';
import { createAdapters, taskDeps } from '../src/wiring.ts';

/** Repository tasks: Tally (a batch's results → counters) and Finish (lifecycle, failures.csv, summary). */
export const handler = lazy(() => {
  const config = configFromEnv();
  return reportFunction(taskDeps(config, createAdapters(config), taskConfigFromEnv().manifestBucket));
});
