import { randomUUID } from 'node:crypto';
import { chmod, lstat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import { changeEvent } from '../../../src/agent/coalesce.ts';
import type { FileSystemChange } from '../../../src/core/events.ts';
import type { Association } from '../../../src/core/types.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import { planBatch } from '../../../src/sync/plan.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * bucketlink's own writes come back from the agent as file-system changes.
 * plan drops a report whose stat is the one the ledger recorded, before any
 * lease or HEAD, and keeps every report that shows something new.
 */
describe('plan drops the echo of a synced file, keeps real changes', () => {
  let stack: Stack;
  let association: Association;
  const dir = () => join(stack.root, 'echo');

  /** The change the watcher would post for a path, from a real lstat. */
  async function reported(name: string, op: FileSystemChange['op'] = 'modified'): Promise<FileSystemChange> {
    const stat = await lstat(join(dir(), name), { bigint: true });
    return {
      path: `/echo/${name}`,
      op,
      kind: 'file',
      size: Number(stat.size),
      mtimeNs: stat.mtimeNs.toString(),
      ctimeNs: stat.ctimeNs.toString(),
      mode: Number(stat.mode),
      ino: stat.ino.toString(),
      seq: 1,
    };
  }

  const plan = (...changes: FileSystemChange[]) =>
    planBatch(
      [{ messageId: randomUUID(), body: JSON.stringify(changeEvent('host', changes)) }],
      stack.planDeps,
    );

  const apply = (path: string) =>
    applyItem({ associationId: association.associationId, path, messageIds: [] }, stack.applyDeps());

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('echo');
    association = await stack.associate('/echo', 's3://echo/');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('drops the report of an exported file that has not changed since', async () => {
    await writeFile(join(dir(), 'a.txt'), 'alpha');
    const before = await reported('a.txt', 'created');
    expect(await apply('a.txt')).toMatchObject({ action: 'export', outcome: 'done' });

    const output = await plan(await reported('a.txt'));
    expect(output.items).toEqual([]);
    expect(output.dropped.echoes).toBe(1);
    expect(output.echoes).toEqual({ [association.associationId]: 1 });
    // The report taken before the export saw the same stat, so it is dropped too.
    expect((await plan(before)).dropped.echoes).toBe(1);
  });

  it('drops the report of its own import', async () => {
    await createS3Client({ endpoint: stack.config.s3Endpoint }).send(
      new PutObjectCommand({ Bucket: 'echo', Key: 'b.txt', Body: 'bravo' }),
    );
    expect(await apply('b.txt')).toMatchObject({ action: 'import', outcome: 'done' });
    const output = await plan(await reported('b.txt', 'created'));
    expect(output).toMatchObject({ items: [], dropped: { echoes: 1 } });
  });

  it('keeps a chmod, a rewrite and a report without the full stat', async () => {
    await writeFile(join(dir(), 'c.txt'), 'charlie');
    await apply('c.txt');
    const synced = await reported('c.txt');

    await chmod(join(dir(), 'c.txt'), 0o600);
    const chmodded = await plan(await reported('c.txt', 'attrib'));
    expect(chmodded.items).toEqual([expect.objectContaining({ path: 'c.txt' })]);

    const { ctimeNs: _, ...withoutCtime } = synced;
    await chmod(join(dir(), 'c.txt'), synced.mode! & 0o7777);
    expect((await plan(withoutCtime)).items).toHaveLength(1);

    await writeFile(join(dir(), 'c.txt'), 'charlie2');
    expect((await plan(await reported('c.txt'))).items).toHaveLength(1);
  });

  it('reads no row for a path whose key would exceed 1,024 bytes, and leaves it to apply to refuse', async () => {
    const long = Array.from({ length: 6 }, (_, i) => `${i}`.repeat(200)).join('/');
    const output = await plan(await reported('a.txt'), {
      path: `/echo/${long}`,
      op: 'created',
      kind: 'file',
      size: 1,
      mtimeNs: '1',
      ctimeNs: '1',
      mode: 0o100644,
      ino: '1',
      seq: 2,
    });
    expect(output.dropped.echoes).toBe(1);
    expect(output.items).toEqual([expect.objectContaining({ path: long })]);
    const applied = await apply(long);
    expect(applied).toMatchObject({ outcome: 'skipped', code: 'S3ExportPathSizeTooLong' });
  });

  it('never drops a delete or a path the ledger does not hold', async () => {
    await writeFile(join(dir(), 'd.txt'), 'delta');
    const output = await plan(await reported('d.txt', 'created'), {
      path: '/echo/a.txt',
      op: 'deleted',
      seq: 2,
    });
    expect(output.items.map((item) => item.path).sort()).toEqual(['a.txt', 'd.txt']);
    expect(output.dropped.echoes).toBe(0);
  });
});
