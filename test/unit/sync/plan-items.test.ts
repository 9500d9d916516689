import { describe, expect, it } from 'vitest';
import { toWorkItems } from '../../../src/sync/plan/items.ts';
import type { Candidate, PlanOutput } from '../../../src/sync/plan/types.ts';
import { association } from '../../support/associations.ts';

const a = association('dra-a', '/a', 's3://bucket-a/');
const b = association('dra-b', '/b', 's3://bucket-b/');

function counts(): Pick<PlanOutput, 'dropped' | 'echoes'> {
  return { dropped: { uncovered: 0, echoes: 0, policy: 0 }, echoes: {} };
}

describe('collapsing candidates into one work item per path', () => {
  it('merges the same path of one association, keeping every message once, the first kind and the rename source', () => {
    const candidates: Candidate[] = [
      { association: a, path: 'x.txt', kindHint: 'file', messageId: 'm-1' },
      { association: a, path: 'x.txt', messageId: 'm-1' },
      { association: a, path: 'x.txt', messageId: 'm-2', renamedFrom: 'old.txt' },
      { association: a, path: 'x.txt', messageId: 'm-3', renamedFrom: 'older.txt' },
    ];
    expect(toWorkItems(candidates, new Set(), counts())).toEqual([
      {
        associationId: 'dra-a',
        path: 'x.txt',
        kindHint: 'file',
        messageIds: ['m-1', 'm-2', 'm-3'],
        renamedFrom: 'old.txt',
      },
    ]);
  });

  it('keeps the same path of two associations apart, in first-seen order', () => {
    const candidates: Candidate[] = [
      { association: b, path: 'x.txt', messageId: 'm-1' },
      { association: a, path: 'x.txt', messageId: 'm-2' },
      { association: b, path: 'y.txt', messageId: 'm-3' },
    ];
    const items = toWorkItems(candidates, new Set(), counts());
    expect(items.map((item) => [item.associationId, item.path, item.messageIds])).toEqual([
      ['dra-b', 'x.txt', ['m-1']],
      ['dra-a', 'x.txt', ['m-2']],
      ['dra-b', 'y.txt', ['m-3']],
    ]);
  });

  it('drops the echoes by index and counts them per association, leaving the other candidates of their path', () => {
    const candidates: Candidate[] = [
      { association: a, path: 'x.txt', messageId: 'm-1' },
      { association: a, path: 'x.txt', messageId: 'm-2' },
      { association: b, path: 'y.txt', messageId: 'm-3' },
      { association: a, path: 'z.txt', messageId: 'm-4' },
    ];
    const output = counts();
    const items = toWorkItems(candidates, new Set([0, 2, 3]), output);
    expect(items).toEqual([{ associationId: 'dra-a', path: 'x.txt', messageIds: ['m-2'] }]);
    expect(output.dropped).toEqual({ uncovered: 0, echoes: 3, policy: 0 });
    expect(output.echoes).toEqual({ 'dra-a': 2, 'dra-b': 1 });
  });
});
