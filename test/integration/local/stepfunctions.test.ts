import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PathNotPosixCompliantError, TransientError } from '../../../src/core/errors.ts';
import {
  ExecutionFailedError,
  type LambdaHandler,
  LocalStateMachine,
} from '../../../src/local/stepfunctions.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/asl/plan-map-summarize.asl.json', import.meta.url), 'utf8'),
) as object;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Item {
  name: string;
}

/** Plan passes the items through, Summarize echoes what it got; Work is the test's. */
function machine(work: LambdaHandler, extra: { retryIntervalMs?: number; calls?: unknown[] } = {}) {
  const calls = extra.calls ?? [];
  return new LocalStateMachine({
    definition: fixture,
    handlers: {
      PlanFunctionArn: async (payload) => {
        calls.push({ plan: payload });
        return { items: (payload as { items: Item[] }).items };
      },
      WorkFunctionArn: work,
      SummarizeFunctionArn: async (payload) => ({ summary: payload }),
    },
    retryIntervalMs: extra.retryIntervalMs ?? 1,
  });
}

describe('LocalStateMachine', () => {
  it('passes each Task its Payload and wraps results as lambda:invoke does', async () => {
    const calls: unknown[] = [];
    const sfn = machine(async (item) => ({ name: (item as Item).name, outcome: 'done' }), { calls });

    const output = await sfn.run({ items: [{ name: 'a' }, { name: 'b' }] });

    expect(calls).toEqual([{ plan: { items: [{ name: 'a' }, { name: 'b' }] } }]);
    expect(output).toEqual({
      summary: {
        status: 200,
        results: [
          { name: 'a', outcome: 'done' },
          { name: 'b', outcome: 'done' },
        ],
      },
    });
  });

  it('hands handlers JSON copies: dates become strings, undefined disappears', async () => {
    const sfn = machine(async () => ({ at: new Date(0), gone: undefined }));

    const output = (await sfn.run({ items: [{ name: 'a' }] })) as { summary: { results: unknown[] } };

    expect(output.summary.results).toEqual([{ at: '1970-01-01T00:00:00.000Z' }]);
  });

  it('retries an error by its name and succeeds when the retry does', async () => {
    let attempts = 0;
    const sfn = machine(async (item) => {
      attempts++;
      if (attempts === 1) throw new TransientError('throttled');
      return { name: (item as Item).name, outcome: 'done', attempts };
    });

    const output = (await sfn.run({ items: [{ name: 'flaky' }] })) as { summary: { results: unknown[] } };

    expect(output.summary.results).toEqual([{ name: 'flaky', outcome: 'done', attempts: 2 }]);
  });

  it('catches an error after MaxAttempts retries, recording its name and the Lambda-style cause', async () => {
    const attempts: Record<string, number> = {};
    const sfn = machine(async (payload) => {
      const { name } = payload as Item;
      attempts[name] = (attempts[name] ?? 0) + 1;
      if (name === 'always-throttled') throw new TransientError('still throttled');
      throw new PathNotPosixCompliantError(`key ${name} escapes the root`);
    });

    const output = (await sfn.run({ items: [{ name: 'always-throttled' }, { name: '../etc' }] })) as {
      summary: { results: Array<{ name: string; code: string; cause: string }> };
    };

    expect(attempts).toEqual({ 'always-throttled': 3, '../etc': 1 });
    const [throttled, escaping] = output.summary.results;
    expect(throttled).toMatchObject({ name: 'always-throttled', outcome: 'failed', code: 'Transient' });
    expect(escaping).toMatchObject({ name: '../etc', code: 'S3ImportObjectPathNotPosixCompliant' });
    expect(JSON.parse(escaping!.cause)).toMatchObject({
      errorType: 'S3ImportObjectPathNotPosixCompliant',
      errorMessage: 'key ../etc escapes the root',
      trace: expect.arrayContaining([expect.stringContaining('escapes the root')]),
    });
  });

  it('waits the ASL retry interval when no test override is given', async () => {
    let attempts = 0;
    const sfn = new LocalStateMachine({
      definition: fixture,
      handlers: {
        PlanFunctionArn: async () => ({ items: [{ name: 'x' }] }),
        WorkFunctionArn: async () => {
          attempts++;
          if (attempts === 1) throw new TransientError('once');
          return {};
        },
        SummarizeFunctionArn: async () => ({}),
      },
    });

    const started = Date.now();
    await sfn.run({});

    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('runs Map items at most MaxConcurrency at a time', async () => {
    let inFlight = 0;
    let peak = 0;
    const sfn = machine(async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await sleep(25);
      inFlight--;
      return {};
    });

    await sfn.run({ items: Array.from({ length: 6 }, (_, i) => ({ name: `i${i}` })) });

    expect(peak).toBe(2);
  });

  it('fails the execution with the error name when nothing catches it', async () => {
    const sfn = new LocalStateMachine({
      definition: fixture,
      handlers: {
        PlanFunctionArn: async () => {
          throw new TransientError('plan could not read the ledger');
        },
        WorkFunctionArn: async () => ({}),
        SummarizeFunctionArn: async () => ({}),
      },
    });

    const failure = await sfn.run({}).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(ExecutionFailedError);
    expect((failure as ExecutionFailedError).error).toBe('Transient');
    expect(JSON.parse((failure as ExecutionFailedError).errorCause).errorMessage).toBe(
      'plan could not read the ledger',
    );
  });

  it('aborts running executions', async () => {
    const sfn = machine(async () => {
      await sleep(5_000);
      return {};
    });

    const running = sfn.run({ items: [{ name: 'slow' }] }).catch((error: unknown) => error);
    await sleep(20);
    sfn.abort();

    expect(await running).toMatchObject({ error: 'ExecutionAborted' });
  });

  it('refuses a definition whose Lambda placeholders have no handler', () => {
    expect(() => new LocalStateMachine({ definition: fixture, handlers: {} })).toThrow(
      /no local handler for PlanFunctionArn, SummarizeFunctionArn, WorkFunctionArn/,
    );
  });

  it('binds every Task of the real sync state machine', () => {
    const definition = JSON.parse(
      readFileSync(new URL('../../../statemachines/sync.asl.json', import.meta.url), 'utf8'),
    ) as object;
    // The three functions the runtime hands it (src/local/runtime.ts), and no other.
    const names = ['ApplyFunctionArn', 'PlanFunctionArn', 'SummarizeFunctionArn'];
    const handlers = Object.fromEntries(names.map((name) => [name, async () => ({})]));

    expect(() => new LocalStateMachine({ definition, handlers })).not.toThrow();
    expect(() => new LocalStateMachine({ definition, handlers: {} })).toThrow(
      `no local handler for ${names.join(', ')}`,
    );
  });
});
