import { configFromEnv } from '../src/config.ts';
import { lazy, listFunction } from '../src/handlers.ts';
import { taskConfigFromEnv } from '../src/tasks/config.ts';
import { createAdapters, taskDeps } from '../src/wiring.ts';

/** Repository tasks: Start (walk manifest, totalCount) and Prepare (a batch of keys or paths → work items). */
export const handler = lazy(() => {
  const config = configFromEnv();
  return listFunction(taskDeps(config, createAdapters(config), taskConfigFromEnv().manifestBucket));
});
