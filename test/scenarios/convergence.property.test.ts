import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../support/stack.ts';
import { type Case, type CaseStats, caseArbitrary, runCase } from './convergence.ts';
import regressions from './regressions.json' with { type: 'json' };
import { startWorld, type World } from './world.ts';

/**
 * Guarantees 1–3 of the README's Semantics, tried hard: random operations on
 * both sides of two associations, events duplicated, reordered, delayed and
 * dropped, S3 503s and connection resets, workers crashing between transfer
 * and ledger commit, concurrent workers on the same path. After the faults
 * stop and one RECONCILE runs, both sides equal the reference model and a
 * further pass transfers nothing.
 *
 * `npm run test:soak` runs many more cases (BUCKETLINK_SOAK_RUNS, and
 * BUCKETLINK_SOAK_MINUTES to stop after a time, counting only passed cases).
 * BUCKETLINK_FORGET_BASE=1 hands apply a ledger with no merge base, to show
 * the property fails without it.
 */
const soakRuns = Number(process.env.BUCKETLINK_SOAK_RUNS ?? 0);
const runs = soakRuns > 0 ? soakRuns : 8;
const soakMinutes = Number(process.env.BUCKETLINK_SOAK_MINUTES ?? 0);
const soaking = soakRuns > 0 || soakMinutes > 0;
/** Every run draws a fresh seed unless one is given; it is printed, and a failure names it. */
const seed = process.env.BUCKETLINK_SEED
  ? Number(process.env.BUCKETLINK_SEED)
  : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;

/** A kept failure: one shrunk case, or a seed whose first `runs` cases failed (state carried between cases). */
type Regression = { name: string; case: Case } | { name: string; seed: number; runs: number };
const kept = regressions as Regression[];
const keptCases = kept.filter((r): r is Extract<Regression, { case: Case }> => 'case' in r);
// A seed replay costs as much as its cases: the longer ones only run in a soak.
const keptSeeds = kept.filter(
  (r): r is Extract<Regression, { seed: number }> => 'seed' in r && (soaking || r.runs <= 8),
);

describe('convergence under faults (model-based)', () => {
  let stack: Stack;
  let world: World;

  beforeAll(async () => {
    stack = await startStack();
    world = await startWorld(stack, { forgetBase: process.env.BUCKETLINK_FORGET_BASE === '1' });
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Runs `numRuns` cases drawn from `from`; returns what they did. */
  async function property(from: number, numRuns: number, minutes = 0) {
    let longest = 0;
    let passed = 0;
    const total: CaseStats = { operations: 0, conflicts: 0, transfers: 0 };
    try {
      await fc.assert(
        fc.asyncProperty(caseArbitrary, async (testCase) => {
          const stats = await runCase(world, testCase);
          passed++;
          longest = Math.max(longest, stats.operations);
          total.operations += stats.operations;
          total.conflicts += stats.conflicts;
          total.transfers += stats.transfers;
        }),
        {
          numRuns,
          seed: from,
          // A soak may be bounded by time instead: the cases run so far must all have passed.
          ...(minutes > 0
            ? { interruptAfterTimeLimit: minutes * 60_000, markInterruptAsFailure: false }
            : {}),
        },
      );
    } catch (error) {
      // Cases share one stack, so a failure may need the cases before it: replay the whole run.
      const replay = `BUCKETLINK_SEED=${from} BUCKETLINK_SOAK_RUNS=${numRuns} npx vitest run test/scenarios/convergence.property.test.ts`;
      throw new Error(`convergence failed (seed ${from}); replay: ${replay}`, { cause: error });
    }
    return { passed, longest, total };
  }

  it.each(keptCases)('still converges on regression case $name', async ({ case: testCase }) => {
    await runCase(world, testCase);
  });

  it.each(keptSeeds)(
    'still converges on regression $name',
    async ({ seed: from, runs: numRuns }) => {
      expect((await property(from, numRuns)).passed).toBe(numRuns);
    },
    600_000,
  );

  it(
    `converges, loses nothing and stops moving data over ${runs} random cases (seed ${seed})`,
    async () => {
      const { passed, longest, total } = await property(seed, runs, soakMinutes);
      console.log(
        JSON.stringify({
          property: 'convergence',
          seed,
          cases: passed,
          longestSequence: longest,
          ...total,
          faults: world.plan.injected,
        }),
      );
      expect(passed).toBeGreaterThanOrEqual(soakMinutes > 0 ? 1 : runs);
    },
    soaking ? 24 * 3600_000 : 300_000,
  );
});
