import fc from 'fast-check';
import { expect } from 'vitest';
import type { ApplyResult } from '../../src/core/types.ts';
import {
  applicable,
  applyOp,
  describeTree,
  EMPTY_DIRS,
  entriesEqual,
  FILES,
  isConflictCopyOf,
  LINK_TARGETS,
  MODES,
  merge,
  type Op,
  RENAMED_DIRS,
  SYMLINKS,
  type Tree,
} from './model.ts';
import { performOnFs, performOnS3, readFsTree, readS3Tree } from './sides.ts';
import type { EventFaults, World } from './world.ts';

/** One generated case: rounds of operations on both sides of two associations, each with its faults. */
export interface Case {
  seed: number;
  rounds: Array<{ ops: Array<{ association: 0 | 1; op: Op }>; faults: EventFaults }>;
}

const side = fc.constantFrom('fs' as const, 's3' as const);
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      side,
      kind: fc.constant('write' as const),
      path: fc.constantFrom(...FILES),
      append: fc.boolean(),
      mode: fc.constantFrom(...MODES),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      side: fc.constant('fs' as const),
      kind: fc.constant('chmod' as const),
      path: fc.constantFrom(...FILES),
      mode: fc.constantFrom(...MODES),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      side,
      kind: fc.constant('delete' as const),
      path: fc.constantFrom(...FILES, ...SYMLINKS),
    }),
  },
  fc.record({
    side,
    kind: fc.constantFrom('mkdir' as const, 'rmdir' as const),
    path: fc.constantFrom(...EMPTY_DIRS),
  }),
  fc.record({
    side,
    kind: fc.constant('symlink' as const),
    path: fc.constantFrom(...SYMLINKS),
    target: fc.constantFrom(...LINK_TARGETS),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      side,
      kind: fc.constant('rename' as const),
      from: fc.constantFrom(...FILES),
      to: fc.constantFrom(...FILES),
    }),
  },
  fc.record({
    side,
    kind: fc.constant('renameDir' as const),
    from: fc.constantFrom(...RENAMED_DIRS),
    to: fc.constantFrom(...RENAMED_DIRS),
  }),
);

const faults: fc.Arbitrary<EventFaults> = fc.record({
  drop: fc.constantFrom(0, 0.1, 0.3),
  delay: fc.constantFrom(0, 0.2),
  duplicate: fc.constantFrom(0, 0.3),
  port: fc.constantFrom(0, 0.03, 0.1),
});

export const caseArbitrary: fc.Arbitrary<Case> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  rounds: fc.array(
    fc.record({
      ops: fc.array(fc.record({ association: fc.constantFrom(0 as const, 1 as const), op }), {
        minLength: 1,
        maxLength: 14,
      }),
      faults,
    }),
    { minLength: 1, maxLength: 4 },
  ),
});

/** What a case did, for the report. */
export interface CaseStats {
  operations: number;
  conflicts: number;
  transfers: number;
}

/** Data moved or removed; dropping a tombstone both sides agree on is ledger housekeeping, not a transfer. */
const transfers = (results: ApplyResult[]) =>
  results.filter((r) => r.outcome === 'done' && r.action !== 'dropLedger');

/**
 * Runs one case against the world and asserts the guarantees after every
 * round: one fault-free RECONCILE brings both sides to the model (conflicts
 * kept both versions), and a second RECONCILE transfers nothing.
 */
export async function runCase(world: World, testCase: Case): Promise<CaseStats> {
  await world.reset(testCase.seed);
  const models: Tree[] = world.sides.map(() => new Map());
  const stats: CaseStats = { operations: 0, conflicts: 0, transfers: 0 };
  let counter = 0;
  for (const [roundIndex, round] of testCase.rounds.entries()) {
    const fsTrees = models.map((m) => new Map(m));
    const s3Trees = models.map((m) => new Map(m));
    const events: unknown[] = [];
    for (const { association, op: o } of round.ops) {
      const tree = (o.side === 'fs' ? fsTrees : s3Trees)[association]!;
      if (!applicable(tree, o)) continue;
      const content = `<${roundIndex}.${counter++}:${'x'.repeat(counter % 7)}>`;
      const { side: s } = world.sides[association]!;
      events.push(
        ...(o.side === 'fs'
          ? await performOnFs(s, o, content, tree)
          : await performOnS3(world.stack.s3, s, o, content, tree)),
      );
      applyOp(tree, o, content);
      stats.operations++;
    }
    // Faults that can leave a lease held until it lapses: a crash before the commit, and an
    // injected commit conflict (thrown before the row is written, so nobody releases the lease).
    const leaseFaults = () => {
      const { crashBeforeCommit, concurrentAsk, ledgerConflict } = world.plan.injected;
      return crashBeforeCommit + concurrentAsk + ledgerConflict;
    };
    const before = leaseFaults();
    await world.deliver(events, round.faults);
    if (leaseFaults() > before) await world.waitForLeases();
    const repaired = await world.reconcile();
    // A paused association skips everything, which would read as a mystery miss further down.
    expect(await world.paused(), 'associations paused during the round').toEqual([]);
    expect(repaired.filter((r) => r.outcome === 'failed' || r.outcome === 'deferred')).toEqual([]);
    for (const [i, { side: s }] of world.sides.entries()) {
      const { tree: expected, conflicts } = merge(models[i]!, fsTrees[i]!, s3Trees[i]!);
      const onFs = await readFsTree(s.root);
      for (const conflict of conflicts) {
        const copy = [...onFs.keys()].find(
          (path) =>
            !expected.has(path) &&
            isConflictCopyOf(path, conflict.path) &&
            entriesEqual(onFs.get(path), conflict.kept),
        );
        // Nothing lost: the file-system version of a conflict is kept beside the winner.
        expect(copy, `conflict copy of ${conflict.path}`).toBeDefined();
        expected.set(copy!, conflict.kept);
      }
      stats.conflicts += conflicts.length;
      expect(describeTree(onFs), `file system of association ${i} after round ${roundIndex}`).toEqual(
        describeTree(expected),
      );
      expect(
        describeTree(await readS3Tree(world.stack.s3, s)),
        `bucket of association ${i} after round ${roundIndex}`,
      ).toEqual(describeTree(expected));
      models[i] = expected;
    }
    // No loops: once converged, a further pass has nothing to move.
    const quiet = await world.reconcile();
    // A directory pruned after the walk passed it is dropped from the ledger a pass later: housekeeping.
    expect(transfers(quiet), 'transfers in a quiet pass').toEqual([]);
    stats.transfers += transfers(world.applied).length + transfers(repaired).length;
  }
  return stats;
}
