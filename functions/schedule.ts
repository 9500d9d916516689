import { configFromEnv } from '../src/config.ts';
import { lazy, scheduleFunction } from '../src/handlers.ts';
import { createAdapters, taskControlDeps } from '../src/wiring.ts';

/** EventBridge Scheduler: a RECONCILE task of every available association. */
export const handler = lazy(() => scheduleFunction(taskControlDeps(createAdapters(configFromEnv()))));
