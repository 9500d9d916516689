import { configFromEnv } from '../src/config.ts';
import { largeFunction, lazy } from '../src/handlers.ts';
import {
  applyDeps,
  createAdapters,
  createEventPublisher,
  largeDeps,
  largeTransfersFromEnv,
} from '../src/wiring.ts';

/** The large-file path's steps: prepare (lease, upload or temp file, ranges), part, commit, abort. */
export const handler = lazy(() => {
  const config = configFromEnv();
  const apply = applyDeps(
    config,
    createAdapters(config),
    createEventPublisher(config),
    largeTransfersFromEnv(),
  );
  return largeFunction(largeDeps(config, apply));
});
