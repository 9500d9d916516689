import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { BatchMetrics } from './summarize.ts';

/**
 * Publishes a batch's metrics as CloudWatch EMF through Powertools: one
 * line per association (dimension `associationId`) and one per
 * (association, error code) for failures. The batch totals stay stored for
 * the `logMetrics` middleware to flush, so every invocation publishes.
 */
export function publishBatchMetrics(metrics: Metrics, batch: BatchMetrics): void {
  for (const association of batch.associations) {
    metrics.addDimension('associationId', association.associationId);
    metrics.addMetric('Transfers', MetricUnit.Count, association.transfers);
    metrics.addMetric('TransferredBytes', MetricUnit.Bytes, association.bytes);
    metrics.addMetric('EchoesSkipped', MetricUnit.Count, association.echoesSkipped);
    metrics.addMetric('Conflicts', MetricUnit.Count, association.conflicts);
    if (association.lagMs !== undefined) metrics.addMetric('Lag', MetricUnit.Milliseconds, association.lagMs);
    metrics.publishStoredMetrics();
    for (const [code, count] of Object.entries(association.failuresByCode)) {
      metrics.addDimension('associationId', association.associationId);
      metrics.addDimension('code', code);
      metrics.addMetric('Failures', MetricUnit.Count, count);
      metrics.publishStoredMetrics();
    }
  }
  // The worst lag of the batch under the service dimension alone: what the lag alarm watches (an alarm cannot SEARCH).
  const lags = batch.associations.flatMap((association) =>
    association.lagMs === undefined ? [] : [association.lagMs],
  );
  if (lags.length) metrics.addMetric('MaxLag', MetricUnit.Milliseconds, Math.max(...lags));
  metrics.addMetric('BatchItems', MetricUnit.Count, batch.items);
  metrics.addMetric('MalformedEvents', MetricUnit.Count, batch.malformed);
}
