import { configFromEnv } from '../src/config.ts';
import { applyFunction, lazy } from '../src/handlers.ts';
import { applyDeps, createAdapters, createEventPublisher, largeTransfersFromEnv } from '../src/wiring.ts';

/** One path (or a Distributed Map batch): decide and import, export or delete, then commit the ledger. */
export const handler = lazy(() => {
  const config = configFromEnv();
  const adapters = createAdapters(config);
  return applyFunction(applyDeps(config, adapters, createEventPublisher(config), largeTransfersFromEnv()));
});
