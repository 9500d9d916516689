import { configFromEnv } from '../src/config.ts';
import { controlFunction, lazy } from '../src/handlers.ts';
import { controlDeps, createAdapters } from '../src/wiring.ts';

/** Association API: create, describe, update, delete. */
export const handler = lazy(() => {
  const config = configFromEnv();
  return controlFunction(controlDeps(config, createAdapters(config)));
});
