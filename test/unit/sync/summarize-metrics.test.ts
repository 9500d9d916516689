import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApplyResult } from '../../../src/core/types.ts';
import { lambda, summarizeFunction } from '../../../src/handlers.ts';
import { batchMetrics, sentTimes } from '../../../src/sync/summarize.ts';

/**
 * The summarize step's metrics, read back from the CloudWatch EMF lines
 * Powertools writes to stdout, and the failures it logs for the DLQ.
 */

const result = (fields: Partial<ApplyResult> & Pick<ApplyResult, 'associationId' | 'path'>): ApplyResult => ({
  action: 'none',
  outcome: 'unchanged',
  messageIds: ['m-echo'],
  ...fields,
});

const RESULTS: ApplyResult[] = [
  result({
    associationId: 'dra-a',
    path: 'x',
    action: 'import',
    outcome: 'done',
    bytes: 100,
    messageIds: ['m1'],
  }),
  result({
    associationId: 'dra-a',
    path: 'y',
    action: 'export',
    outcome: 'done',
    bytes: 20,
    conflict: true,
    messageIds: ['m2', 'm3'],
  }),
  result({ associationId: 'dra-a', path: 'z' }),
  result({
    associationId: 'dra-a',
    path: 'f',
    outcome: 'failed',
    code: 'AccessDenied',
    message: JSON.stringify({ errorType: 'AccessDenied', errorMessage: 'no', trace: ['at x'] }),
    messageIds: ['m4'],
  }),
  result({ associationId: 'dra-b', path: 'g', outcome: 'failed', code: 'Transient', messageIds: ['m5'] }),
  result({ associationId: 'dra-b', path: 'h', outcome: 'failed', code: 'Transient', messageIds: ['m6'] }),
  result({ associationId: 'dra-b', path: 'bad\\', action: 'skip', outcome: 'skipped', code: 'InvalidPath' }),
  result({ associationId: 'dra-b', path: 'busy', outcome: 'deferred', reason: 'lease-held' }),
];
const PLAN_FAILURES = [{ messageId: 'm9', code: 'MalformedEvent', message: 'detail: required' }];

interface Emf {
  _aws: {
    CloudWatchMetrics: Array<{
      Namespace: string;
      Dimensions: string[][];
      Metrics: Array<{ Name: string; Unit: string }>;
    }>;
  };
  [key: string]: unknown;
}

/** Runs `fn` and returns every JSON line written to stdout. */
async function captureStdout(fn: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return lines.flatMap((line) => {
    try {
      return [JSON.parse(line) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

const isEmf = (line: Record<string, unknown>): line is Emf => '_aws' in line;

describe('batchMetrics', () => {
  it('counts transfers, bytes, echoes, conflicts and failures by code per association', () => {
    const metrics = batchMetrics(RESULTS, PLAN_FAILURES);
    expect(metrics.items).toBe(RESULTS.length);
    expect(metrics.malformed).toBe(1);
    expect(metrics.associations).toEqual([
      {
        associationId: 'dra-a',
        transfers: 2,
        bytes: 120,
        echoesSkipped: 1,
        conflicts: 1,
        failuresByCode: { AccessDenied: 1 },
      },
      {
        associationId: 'dra-b',
        transfers: 0,
        bytes: 0,
        echoesSkipped: 0,
        conflicts: 0,
        failuresByCode: { Transient: 2, InvalidPath: 1 },
      },
    ]);
  });

  it('measures lag from the oldest message behind a committed path', () => {
    const sent = sentTimes(['m1', 'm2', 'm3', 'm4'], ['1000', '4000', '2500', '100']);
    const [a] = batchMetrics(RESULTS, [], sent, 5000).associations;
    // m1 → 4000 ms; y's oldest message is m3 → 2500 ms; m4 failed, so it commits nothing.
    expect(a!.lagMs).toBe(4000);
  });

  it('leaves lag out when no SentTimestamp is known', () => {
    expect(batchMetrics(RESULTS, [], sentTimes(undefined, undefined)).associations[0]!.lagMs).toBeUndefined();
  });
});

describe('the summarize function with Powertools Metrics', () => {
  const env = { ...process.env };
  beforeEach(() => {
    delete process.env.POWERTOOLS_DEV;
    delete process.env.POWERTOOLS_METRICS_DISABLED;
  });
  afterEach(() => {
    process.env = { ...env };
  });

  it('publishes one EMF line per association and per failure code, and the batch totals', async () => {
    const metrics = new Metrics({ namespace: 'bucketlink', serviceName: 'bucketlink' });
    const handler = lambda(summarizeFunction({ metrics }), metrics);
    const now = Date.now();
    const event = {
      results: RESULTS,
      failures: PLAN_FAILURES,
      messageIds: ['m1', 'm2', 'm3'],
      sentTimestamps: [String(now - 60_000), String(now - 1000), String(now - 2000)],
    };
    let response: unknown;
    const lines = await captureStdout(async () => {
      response = await handler(event, { functionName: 'summarize' } as Parameters<typeof handler>[1]);
    });
    expect(response).toEqual({
      batchItemFailures: ['m9', 'm4', 'm5', 'm6'].map((itemIdentifier) => ({ itemIdentifier })),
    });
    const emf = lines.filter(isEmf);
    const byDimensions = (dims: Record<string, string>) =>
      emf.filter((line) => Object.entries(dims).every(([k, v]) => line[k] === v) && line.code === dims.code);

    const [a] = byDimensions({ associationId: 'dra-a' });
    expect(a).toMatchObject({
      service: 'bucketlink',
      Transfers: 2,
      TransferredBytes: 120,
      EchoesSkipped: 1,
      Conflicts: 1,
    });
    expect(a!.Lag as number).toBeGreaterThanOrEqual(60_000);
    expect(a!.Lag as number).toBeLessThan(120_000);
    const units = Object.fromEntries(a!._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit]));
    expect(units).toEqual({
      Transfers: 'Count',
      TransferredBytes: 'Bytes',
      EchoesSkipped: 'Count',
      Conflicts: 'Count',
      Lag: 'Milliseconds',
    });
    expect(a!._aws.CloudWatchMetrics[0]!.Namespace).toBe('bucketlink');
    expect(a!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'associationId']]);

    const [b] = byDimensions({ associationId: 'dra-b' });
    expect(b).toMatchObject({ Transfers: 0, EchoesSkipped: 0 });
    expect(b).not.toHaveProperty('Lag');

    const failures = emf
      .filter((line) => 'Failures' in line)
      .map((line) => [line.associationId, line.code, line.Failures]);
    expect(failures).toEqual([
      ['dra-a', 'AccessDenied', 1],
      ['dra-b', 'Transient', 2],
      ['dra-b', 'InvalidPath', 1],
    ]);
    for (const line of emf.filter((l) => 'Failures' in l))
      expect(line._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'associationId', 'code']]);

    // The middleware flushes the totals, which carry no association.
    const totals = emf.filter((line) => 'BatchItems' in line);
    expect(totals.map((line) => [line.BatchItems, line.MalformedEvents, line.associationId])).toEqual([
      [RESULTS.length, 1, undefined],
    ]);
    // The worst lag of the batch, for the lag alarm (which cannot SEARCH the per-association series).
    expect(totals[0]!.MaxLag).toBe(a!.Lag);
    expect(totals[0]!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service']]);
  });

  it('logs each failure with its reason, as it will reach the DLQ', async () => {
    const errors: unknown[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { logger } = await import('../../../src/log.ts');
    const logged = vi.spyOn(logger, 'error').mockImplementation((...args: unknown[]) => {
      errors.push(args);
    });
    try {
      await summarizeFunction()({ results: RESULTS, failures: PLAN_FAILURES });
    } finally {
      logged.mockRestore();
      spy.mockRestore();
    }
    expect(errors).toEqual([
      ['batch item failed', { messageId: 'm9', code: 'MalformedEvent', why: 'detail: required' }],
      [
        'batch item failed',
        { associationId: 'dra-a', path: 'f', messageIds: ['m4'], code: 'AccessDenied', why: 'no' },
      ],
      [
        'batch item failed',
        { associationId: 'dra-b', path: 'g', messageIds: ['m5'], code: 'Transient', why: undefined },
      ],
      [
        'batch item failed',
        { associationId: 'dra-b', path: 'h', messageIds: ['m6'], code: 'Transient', why: undefined },
      ],
    ]);
  });

  it('publishes nothing without a Metrics instance (local mode)', async () => {
    const lines = await captureStdout(() => summarizeFunction()({ results: RESULTS, failures: [] }));
    expect(lines.filter(isEmf)).toEqual([]);
  });
});
