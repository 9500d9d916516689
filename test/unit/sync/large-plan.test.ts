import { describe, expect, it } from 'vitest';
import type { Decision, FsState, S3State } from '../../../src/core/types.ts';
import {
  handOffFor,
  MAX_RANGES,
  MIN_PART_BYTES,
  partSizeFor,
  planRanges,
} from '../../../src/sync/large-plan.ts';

const MiB = 1024 * 1024;

describe('planRanges', () => {
  it.each([
    [12 * MiB, 5 * MiB, [5 * MiB, 5 * MiB, 2 * MiB]],
    [10 * MiB, 5 * MiB, [5 * MiB, 5 * MiB]],
    [1, 5 * MiB, [1]],
    [0, 5 * MiB, [0]],
  ])('cuts %i bytes in parts of %i into %j', (size, partSize, lengths) => {
    const ranges = planRanges(size, partSize);
    expect(ranges.map((r) => r.end - r.start + 1)).toEqual(lengths);
    expect(ranges.map((r) => r.partNumber)).toEqual(lengths.map((_, i) => i + 1));
    // Consecutive, gapless, covering every byte once.
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end + 1);
    expect(ranges[0]!.start).toBe(0);
    expect(ranges.at(-1)!.end).toBe(size - 1);
  });

  it('refuses parts below S3 minimum and more ranges than the state can carry', () => {
    expect(() => planRanges(12 * MiB, MIN_PART_BYTES - 1)).toThrow(/5 MiB/);
    expect(() => planRanges((MAX_RANGES + 1) * MIN_PART_BYTES, MIN_PART_BYTES)).toThrow(/exceed/);
  });
});

describe('partSizeFor', () => {
  it('keeps the preferred size when the count fits, raises it (whole MiB) when it does not', () => {
    expect(partSizeFor(12 * MiB, 5 * MiB)).toBe(5 * MiB);
    expect(partSizeFor(12 * MiB, 1)).toBe(MIN_PART_BYTES);
    const oneTiB = 1024 * 1024 * MiB;
    const raised = partSizeFor(oneTiB, 64 * MiB);
    expect(raised % MiB).toBe(0);
    expect(planRanges(oneTiB, raised).length).toBeLessThanOrEqual(MAX_RANGES);
  });

  it('refuses what would need parts above 5 GiB', () => {
    expect(() => partSizeFor(MAX_RANGES * 6 * 1024 * MiB, 64 * MiB)).toThrow(/5 GiB/);
  });
});

describe('handOffFor', () => {
  const large = { thresholdBytes: 100, partSize: 5 * MiB, maxConcurrency: 3, start: async () => {} };
  const item = { associationId: 'dra-0123456789abcdef0', path: 'a/b.bin' };
  const file = (size: number) => ({ kind: 'file', size }) as FsState;
  const object = (size: number) => ({ kind: 'file', size }) as S3State;
  const decision = (action: Decision['action']): Decision => ({ action, reason: 'test' });

  it('hands off imports and exports of files strictly above the threshold', () => {
    expect(handOffFor(large, decision('export'), item, file(101), undefined)).toMatchObject({
      ...item,
      partSize: 5 * MiB,
      maxConcurrency: 3,
      transferId: expect.any(String),
    });
    expect(handOffFor(large, decision('import'), item, undefined, object(101))).toBeDefined();
    expect(handOffFor(large, decision('export'), item, file(100), undefined)).toBeUndefined();
    expect(handOffFor(large, decision('import'), item, file(1000), object(100))).toBeUndefined();
  });

  it('keeps everything else, and everything when no large-file path is configured', () => {
    expect(handOffFor(large, decision('deleteObject'), item, file(1000), object(1000))).toBeUndefined();
    expect(handOffFor(large, decision('keepBoth'), item, file(1000), object(1000))).toBeUndefined();
    expect(handOffFor(undefined, decision('export'), item, file(1000), undefined)).toBeUndefined();
    const dir = { kind: 'dir', size: 1000 } as FsState;
    expect(handOffFor(large, decision('export'), item, dir, undefined)).toBeUndefined();
  });
});
