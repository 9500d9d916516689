import { Metrics } from '@aws-lambda-powertools/metrics';
import { lazy, summarizeFunction } from '../src/handlers.ts';

/** Namespace `bucketlink`; the `service` dimension comes from POWERTOOLS_SERVICE_NAME. */
const metrics = new Metrics({ namespace: 'bucketlink' });

/** Per-item results → the Pipe's batchItemFailures; the batch's metrics as EMF. */
export const handler = lazy(() => summarizeFunction({ metrics }), metrics);
