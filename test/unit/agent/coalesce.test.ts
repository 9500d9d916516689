import { describe, expect, it } from 'vitest';
import { changeEvent, coalesceByPath, groupChanges, MAX_ENTRY_BYTES } from '../../../src/agent/coalesce.ts';
import { agentChangeEvent, type FileSystemChange } from '../../../src/core/events.ts';

const change = (path: string, op: FileSystemChange['op'], seq: number, extra = {}): FileSystemChange => ({
  path,
  op,
  seq,
  ...extra,
});

describe('coalesceByPath', () => {
  it('keeps one change per path, the last one, and remembers a creation', () => {
    const out = coalesceByPath([
      change('/a', 'created', 1, { size: 1 }),
      change('/b', 'modified', 2),
      change('/a', 'modified', 3, { size: 9 }),
    ]);
    expect(out).toEqual([change('/b', 'modified', 2), change('/a', 'created', 3, { size: 9 })]);
  });

  it('lets a delete replace what came before, and a rename keep its old path', () => {
    expect(coalesceByPath([change('/t', 'created', 1), change('/t', 'deleted', 2)])).toEqual([
      change('/t', 'deleted', 2),
    ]);
    expect(
      coalesceByPath([change('/n', 'renamed', 1, { oldPath: '/o' }), change('/n', 'modified', 2)]),
    ).toEqual([change('/n', 'renamed', 2, { oldPath: '/o' })]);
    // Created then renamed within the window: new at its final path, the old one was never reported.
    expect(
      coalesceByPath([change('/n', 'created', 1), change('/n', 'renamed', 2, { oldPath: '/o' })]),
    ).toEqual([change('/n', 'created', 2)]);
  });
});

describe('groupChanges', () => {
  it('keeps every entry under 8 KB and valid against the schema the plan handler uses', () => {
    const long = 'x'.repeat(900);
    const changes = Array.from({ length: 100 }, (_, i) =>
      change(`/dir/${long}-${i}`, 'modified', i, { size: i, mtimeNs: '1', ino: '2', kind: 'file' }),
    );
    const groups = groupChanges(changes);
    expect(groups.flat()).toEqual(changes);
    for (const group of groups) {
      const event = changeEvent('host', group);
      expect(Buffer.byteLength(JSON.stringify(event.detail))).toBeLessThanOrEqual(MAX_ENTRY_BYTES);
      expect(agentChangeEvent.parse(event)).toEqual(event);
    }
    expect(groups.length).toBeGreaterThan(10);
  });

  it('caps the number of changes per entry', () => {
    const groups = groupChanges(
      Array.from({ length: 95 }, (_, i) => change(`/${i}`, 'created', i)),
      { maxChanges: 40 },
    );
    expect(groups.map((g) => g.length)).toEqual([40, 40, 15]);
  });
});
