import { lazy, summarizeFunction } from '../src/handlers.ts';

/** Per-item results → the Pipe's batchItemFailures. */
export const handler = lazy(() => summarizeFunction());
