import { configFromEnv } from '../src/config.ts';
import { lazy, planFunction } from '../src/handlers.ts';
import { createAdapters, planDeps } from '../src/wiring.ts';

/** Pipe batch of change events → de-duplicated per-path work items. */
export const handler = lazy(() => planFunction(planDeps(createAdapters(configFromEnv()))));
