import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DECISION_REASONS, type DecideInput, decideAction } from '../../../src/core/decide.ts';
import type { Decision, SyncPolicy } from '../../../src/core/types.ts';
import { act, fullPolicyArb, policyArb, type World, worldArb } from './decide-model.ts';

/** Decides like `apply`: a 'checksum' answer is followed by a second call with the content comparison. */
function decide(world: World, policy: SyncPolicy, rootMounted: boolean): Decision {
  const input: DecideInput = { base: world.base, fs: world.fs, s3: world.s3, policy, rootMounted };
  const first = decideAction(input);
  if (first.action !== 'checksum') return first;
  const second = decideAction({ ...input, contentEqual: world.fs!.content === world.s3!.content });
  expect(second.action).not.toBe('checksum');
  return second;
}

const TRANSFERS = new Set(['record', 'export', 'import', 'keepBoth']);

/** Acts on decisions until one changes nothing; returns the last decision and the world it left. */
function settle(world: World, policy: SyncPolicy, rootMounted: boolean) {
  let current = world;
  for (let step = 0; step < 4; step++) {
    const decision = decide(current, policy, rootMounted);
    if (decision.action === 'none' || decision.action === 'skip') return { decision, world: current, step };
    current = act(current, decision);
    if (TRANSFERS.has(decision.action)) {
      // What was just written must not be sent back: this is how echoes die.
      expect(decide(current, policy, rootMounted)).toMatchObject({ action: 'none', reason: 'unchanged' });
    }
  }
  throw new Error('decisions did not settle within 4 steps');
}

describe('decideAction properties', () => {
  it('settles within a few actions and never transfers back what it just wrote (no loops)', () => {
    fc.assert(
      fc.property(worldArb, policyArb, fc.boolean(), (world, policy, rootMounted) => {
        const { decision, world: settled } = settle(world, policy, rootMounted);
        // A settled decision is stable: deciding again changes nothing.
        expect(decide(settled, policy, rootMounted)).toEqual(decision);
      }),
      { numRuns: 2000 },
    );
  });

  it('converges contents and modes when every change is synced and the root is mounted', () => {
    fc.assert(
      fc.property(worldArb, fullPolicyArb, (world, policy) => {
        const { decision, world: settled } = settle(world, policy, true);
        if (decision.action === 'skip') {
          expect(decision.code).toBe('S3ImportObjectTypeMismatch');
          return;
        }
        const { fs, s3 } = settled;
        if (decision.reason === 'implied-dir') {
          expect(fs?.kind === 'dir' || s3?.kind === 'dir').toBe(true);
          return;
        }
        expect(fs?.kind).toBe(s3?.kind);
        if (fs && s3 && fs.kind !== 'dir') expect(fs.content).toBe(s3.content);
        if (fs && s3?.meta.mode !== undefined) expect(fs.mode & 0o7777).toBe(s3.meta.mode & 0o7777);
      }),
      { numRuns: 2000 },
    );
  });

  it('never takes a file-system deletion while the root looks unmounted', () => {
    fc.assert(
      fc.property(worldArb, policyArb, (world, policy) => {
        const decision = decide(world, policy, false);
        expect(decision.action).not.toBe('deleteObject');
        if (!world.fs) expect(['export', 'dropLedger']).not.toContain(decision.action);
      }),
    );
  });

  it('only transfers in a direction the policy allows, except to record equal sides', () => {
    fc.assert(
      fc.property(worldArb, policyArb, (world, policy) => {
        const decision = decide(world, policy, true);
        if (decision.action === 'export' || decision.action === 'deleteObject') {
          expect(policy.autoExport.length).toBeGreaterThan(0);
        }
        if (['import', 'keepBoth', 'deleteFile'].includes(decision.action)) {
          expect(policy.autoImport.length).toBeGreaterThan(0);
        }
      }),
    );
  });

  it('never throws, whatever the input holds, and always gives a known reason', () => {
    const text = fc.oneof(
      fc.string(),
      fc.constantFrom('1700000000000000000', '-1', '', '2023-11-14T22:13:20.000Z'),
    );
    const kind = fc.constantFrom('file', 'dir', 'symlink') as fc.Arbitrary<'file' | 'dir' | 'symlink'>;
    const fsArb = fc.record({
      kind,
      size: fc.integer(),
      mtimeNs: text,
      ctimeNs: text,
      ino: text,
      mode: fc.integer(),
      uid: fc.integer(),
      gid: fc.integer(),
      hasChildren: fc.boolean(),
    });
    const s3Arb = fc.record({
      kind,
      key: text,
      etag: text,
      lastModified: text,
      size: fc.integer(),
      metaHash: text,
      meta: fc.record({ mode: fc.integer(), mtimeNs: text }, { requiredKeys: [] }),
      implied: fc.boolean(),
    });
    const baseArb = fc.record(
      {
        associationId: text,
        path: text,
        kind,
        state: fc.constantFrom('present', 'deleted') as fc.Arbitrary<'present' | 'deleted'>,
        fs: fsArb,
        s3: s3Arb,
        rev: fc.integer(),
        syncedAtMs: fc.integer(),
      },
      { requiredKeys: ['associationId', 'path', 'kind', 'state', 'rev', 'syncedAtMs'] },
    );
    fc.assert(
      fc.property(
        fc.option(baseArb, { nil: undefined }),
        fc.option(fsArb, { nil: undefined }),
        fc.option(s3Arb, { nil: undefined }),
        policyArb,
        fc.boolean(),
        fc.option(fc.boolean(), { nil: undefined }),
        (base, fs, s3, policy, rootMounted, contentEqual) => {
          const input = {
            base,
            fs,
            s3,
            policy,
            rootMounted,
            ...(contentEqual === undefined ? {} : { contentEqual }),
          };
          const decision = decideAction(input);
          expect(DECISION_REASONS).toContain(decision.reason);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
