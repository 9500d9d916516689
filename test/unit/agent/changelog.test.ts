import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parseChangelogLine } from '../../../src/agent/changelog.ts';

const FIXTURE = new URL('../../fixtures/lustre/changelog.txt', import.meta.url);

describe('parseChangelogLine', () => {
  it('reads a namespace record: index, type, target, parent and name', () => {
    expect(
      parseChangelogLine(
        '2 01CREAT 15:15:36.687592024 2026.11.24 0x0 t=[0x200000402:0x2:0x0] j=cp.500 ef=0xf u=500:500 nid=10.0.0.11@tcp p=[0x200000402:0x1:0x0] chloe.jpg',
      ),
    ).toEqual({
      index: 2,
      type: 'CREAT',
      target: '[0x200000402:0x2:0x0]',
      parent: '[0x200000402:0x1:0x0]',
      name: 'chloe.jpg',
    });
  });

  it('reads a rename with spaces in both names', () => {
    expect(
      parseChangelogLine(
        '7 08RENME 15:16:40.394000000 2026.11.24 0x1 t=[0:0x0:0x0] j=mv.500 ef=0xf u=500:500 nid=10.0.0.11@tcp p=[0x200000402:0x1:0x0] new name.txt s=[0x200000402:0x3:0x0] sp=[0x200000402:0x1:0x0] old name.txt',
      ),
    ).toMatchObject({
      type: 'RENME',
      parent: '[0x200000402:0x1:0x0]',
      name: 'new name.txt',
      source: '[0x200000402:0x3:0x0]',
      sourceParent: '[0x200000402:0x1:0x0]',
      sourceName: 'old name.txt',
    });
  });

  it('reads a record without a parent (CLOSE) and a padded four-letter type (MARK)', () => {
    expect(
      parseChangelogLine(
        '3 11CLOSE 15:15:36.690000113 2026.11.24 0x242 t=[0x200000402:0x2:0x0] j=cp.500 ef=0xf u=500:500 nid=10.0.0.11@tcp',
      ),
    ).toEqual({ index: 3, type: 'CLOSE', target: '[0x200000402:0x2:0x0]' });
    expect(
      parseChangelogLine('16 00MARK  15:18:00.000000000 2026.11.24 0x0 t=[0:0x0:0x0] j=lfs.0 p=[0:0x0:0x0] '),
    ).toMatchObject({ index: 16, type: 'MARK' });
  });

  it('parses every record of the recorded changelog and nothing else', async () => {
    const lines = (await readFile(FIXTURE, 'utf8')).split('\n');
    const records = lines.map(parseChangelogLine).filter(Boolean);
    expect(records.map((r) => r!.index)).toEqual(Array.from({ length: 17 }, (_, i) => i + 1));
    expect(parseChangelogLine('')).toBeUndefined();
    expect(parseChangelogLine('lfs changelog: no such device')).toBeUndefined();
  });
});
