import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

interface AssociationRow {
  associationId: string;
  lifecycle: string;
  pendingChanges: number;
  transfers: { exports: number } | null;
  bytes: { exported: number } | null;
  transfersPerSecond: number[] | null;
  pathsInSync: number | null;
  deleteBudget: { deletesInWindow: number; paused: boolean };
}

describe('GET /status tells a person what is pending, what moved and what went wrong', () => {
  let local: LocalProcess;
  let associationId: string;
  const dir = () => join(local.root, 'watched');

  beforeAll(async () => {
    local = await LocalProcess.start(undefined, {
      args: ['--log-level', 'DEBUG'],
      env: { POWERTOOLS_LOG_LEVEL: '' },
    });
    await local.createBucket('watched');
    associationId = await local.associate('/watched', 's3://watched/');
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('reports per association what moved, its rate over 15 minutes and the paths in sync', async () => {
    await writeFile(join(dir(), 'one.txt'), 'twelve bytes');
    await eventually(() =>
      local.s3.send(new HeadObjectCommand({ Bucket: 'watched', Key: 'one.txt' })).catch(() => undefined),
    );
    await local.settle();
    const row = await eventually(async () => {
      const status = await local.status('?detail=full');
      const found = (status.associations as AssociationRow[]).find((a) => a.associationId === associationId);
      return found?.pathsInSync === 1 ? found : undefined;
    });
    expect(row.lifecycle).toBe('AVAILABLE');
    expect(row.transfers?.exports).toBe(1);
    expect(row.bytes?.exported).toBe(12);
    expect(row.transfersPerSecond).toHaveLength(90);
    expect(row.transfersPerSecond!.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(row.pendingChanges).toBe(0);
    expect(row.deleteBudget).toEqual({ deletesInWindow: 0, windowSeconds: 600, paused: false });

    const status = await local.status();
    expect(status.pending).toEqual({ changes: 0, queued: 0, watcher: 0, oldestAgeSeconds: null });
    expect((status.transfersPerSecond as number[]).length).toBe(900);
  });

  it('lists the last conflicts and refused keys with their paths, codes and times', async () => {
    const path = join(dir(), 'both.txt');
    await writeFile(path, 'original');
    await eventually(() =>
      local.s3.send(new HeadObjectCommand({ Bucket: 'watched', Key: 'both.txt' })).catch(() => undefined),
    );
    await local.settle();
    await writeFile(path, 'file side');
    await local.s3.send(new PutObjectCommand({ Bucket: 'watched', Key: 'both.txt', Body: 's3 side' }));
    await local.s3.send(new PutObjectCommand({ Bucket: 'watched', Key: 'bad/../escape.txt', Body: 'x' }));

    const status = await eventually(async () => {
      const current = await local.status();
      const conflicts = current.recentConflicts as Array<{ path: string }>;
      return conflicts.some((c) => c.path === 'both.txt') &&
        current.problems.some((p) => p.key === 'bad/../escape.txt')
        ? current
        : undefined;
    });
    const conflict = (status.recentConflicts as Array<Record<string, string>>).find(
      (c) => c.path === 'both.txt',
    )!;
    expect(conflict).toMatchObject({ associationId, policy: 'KEEP_BOTH' });
    expect(Date.parse(conflict.at!)).toBeGreaterThan(Date.now() - 60_000);
    const refused = status.problems.find((p) => p.key === 'bad/../escape.txt') as Record<string, string>;
    expect(refused.code).toMatch(/^S3ImportObjectPathNotPosixCompliant|PathNotPosixCompliant/);
    expect(Date.parse(refused.at!)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('logs one line per file at DEBUG and one per batch at INFO (--log-level)', async () => {
    await eventually(async () => local.stdout.includes('"message":"applied"'));
    const lines = local.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: string; message: string; path?: string });
    const applied = lines.filter((line) => line.message === 'applied');
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((line) => line.level === 'DEBUG')).toBe(true);
    expect(applied.map((line) => line.path)).toContain('one.txt');
    expect(lines.some((line) => line.message === 'batch synced' && line.level === 'INFO')).toBe(true);
  });
});

describe('bucketlink local at its default log level', () => {
  it('writes no per-file line', async () => {
    const local = await LocalProcess.start(undefined, { env: { POWERTOOLS_LOG_LEVEL: '' } });
    try {
      await local.createBucket('quiet');
      await local.associate('/quiet', 's3://quiet/');
      await writeFile(join(local.root, 'quiet', 'a.txt'), 'a');
      await eventually(() =>
        local.s3.send(new HeadObjectCommand({ Bucket: 'quiet', Key: 'a.txt' })).catch(() => undefined),
      );
      await eventually(async () => local.stdout.includes('batch synced'));
      expect(local.stdout).not.toContain('"message":"applied"');
    } finally {
      await local.stop();
    }
  });
});
