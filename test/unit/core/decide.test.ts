import { describe, expect, it } from 'vitest';
import { DECISION_REASONS, decideAction } from '../../../src/core/decide.ts';
import type { SyncAction } from '../../../src/core/types.ts';
import { decisionCases } from './decide-table.ts';

describe('decideAction (decide-table.json)', () => {
  it.each(decisionCases)('$name', ({ name: _name, expected, ...input }) => {
    expect(decideAction(input)).toEqual(expected);
  });

  it('has cases with unique names', () => {
    const names = decisionCases.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
  });

  it('covers every reason and every action', () => {
    const reasons = new Set(decisionCases.map((c) => c.expected.reason));
    expect([...DECISION_REASONS].filter((reason) => !reasons.has(reason))).toEqual([]);
    const actions: SyncAction[] = [
      'none',
      'record',
      'export',
      'import',
      'deleteObject',
      'deleteFile',
      'dropLedger',
      'keepBoth',
      'checksum',
      'skip',
    ];
    const seen = new Set(decisionCases.map((c) => c.expected.action));
    expect(actions.filter((action) => !seen.has(action))).toEqual([]);
  });

  it('only gives reasons from DECISION_REASONS', () => {
    for (const { expected } of decisionCases) expect(DECISION_REASONS).toContain(expected.reason);
  });
});
