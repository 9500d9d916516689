import { describe, expect, it } from 'vitest';
import { LeaseHeldError, PathNotPosixCompliantError, TransientError } from '../../../src/core/errors.ts';
import type { ApplyResult, WorkItem } from '../../../src/core/types.ts';
import { applyBatch } from '../../../src/sync/batch.ts';

const item = (path: string): WorkItem => ({ associationId: 'dra-1', path, messageIds: [`m-${path}`] });
const done = (work: WorkItem): ApplyResult => ({
  associationId: work.associationId,
  path: work.path,
  action: 'import',
  outcome: 'done',
  messageIds: work.messageIds,
});

describe('applyBatch', () => {
  it('retries a path whose failure is retryable and reports the attempt that succeeded', async () => {
    const attempts = new Map<string, number>();
    const results = await applyBatch(
      [item('a'), item('b')],
      async (work) => {
        const n = (attempts.get(work.path) ?? 0) + 1;
        attempts.set(work.path, n);
        if (work.path === 'a' && n < 3) throw new TransientError('socket hang up');
        return done(work);
      },
      { retryIntervalMs: 1 },
    );
    expect(results.map((result) => [result.path, result.outcome])).toEqual([
      ['a', 'done'],
      ['b', 'done'],
    ]);
    expect(Object.fromEntries(attempts)).toEqual({ a: 3, b: 1 });
  });

  it('does not retry a refusal, and gives up on a retryable failure after its retries', async () => {
    const attempts = new Map<string, number>();
    const failures: Array<[string, boolean]> = [];
    const results = await applyBatch(
      [item('bad'), item('held')],
      async (work) => {
        attempts.set(work.path, (attempts.get(work.path) ?? 0) + 1);
        throw work.path === 'bad' ? new PathNotPosixCompliantError('nope') : new LeaseHeldError(work.path);
      },
      { retryIntervalMs: 1, onFailure: (work, _error, willRetry) => failures.push([work.path, willRetry]) },
    );
    expect(results.map((result) => [result.path, result.outcome, result.code])).toEqual([
      ['bad', 'failed', 'S3ImportObjectPathNotPosixCompliant'],
      ['held', 'failed', 'LeaseHeld'],
    ]);
    expect(Object.fromEntries(attempts)).toEqual({ bad: 1, held: 5 });
    expect(failures.filter(([path]) => path === 'held').map(([, retry]) => retry)).toEqual([
      true,
      true,
      true,
      true,
      false,
    ]);
  });

  it('keeps at most `concurrency` paths in flight and returns results in item order', async () => {
    let inFlight = 0;
    let most = 0;
    const items = Array.from({ length: 20 }, (_, i) => item(`p${i}`));
    const results = await applyBatch(
      items,
      async (work) => {
        most = Math.max(most, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 1 + (Number(work.path.slice(1)) % 3)));
        inFlight--;
        return done(work);
      },
      { concurrency: 4 },
    );
    expect(most).toBe(4);
    expect(results.map((result) => result.path)).toEqual(items.map((work) => work.path));
  });
});
