import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from '../../support/stack.ts';
import { readObject, taskHarness } from './harness.ts';

/**
 * Tasks are how data moves when automatic sync is off (docs/tasks.md): an
 * import or export task moves what it names whatever the automatic policy
 * says, the conflict policy still applies, and RECONCILE keeps the
 * association's policies.
 */
describe('repository tasks and the automatic policies', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  async function keys(bucket: string): Promise<string[]> {
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    return (listed.Contents ?? []).map((o) => o.Key!).sort();
  }

  it('exports every file with EXPORT_TO_REPOSITORY when auto-export is off, and RECONCILE does not', async () => {
    await stack.createBucket('noexp');
    const association = await stack.associate('/noexp', 's3://noexp/', {
      autoExport: [],
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'noexp');
    await mkdir(join(root, 'docs'), { recursive: true });
    for (const name of ['docs/a.txt', 'docs/b.txt', 'c.txt'])
      await writeFile(join(root, name), `file ${name}`);
    const tasks = await taskHarness(stack);

    const reconciled = await tasks.run({ type: 'RECONCILE', associationId: association.associationId });
    expect(reconciled.lifecycle).toBe('SUCCEEDED');
    expect(await keys('noexp')).toEqual([]);

    const task = await tasks.run({ type: 'EXPORT_TO_REPOSITORY', associationId: association.associationId });

    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(task.status).toMatchObject({ totalCount: 4, succeededCount: 4, failedCount: 0 });
    expect(task.status.transferredBytes).toBeGreaterThan(0);
    expect(await keys('noexp')).toEqual(['c.txt', 'docs/a.txt', 'docs/b.txt']);
    expect(await readObject(stack, 'noexp', 'docs/a.txt')).toBe('file docs/a.txt');
  });

  it('imports every object with IMPORT_METADATA_FROM_REPOSITORY when auto-import is off', async () => {
    await stack.createBucket('noimp');
    const association = await stack.associate('/noimp', 's3://noimp/', {
      autoImport: [],
      batchImportMetaDataOnCreate: false,
    });
    for (const Key of ['x/1.txt', 'x/2.txt']) {
      await stack.s3.send(new PutObjectCommand({ Bucket: 'noimp', Key, Body: `object ${Key}` }));
    }
    const tasks = await taskHarness(stack);

    const task = await tasks.run({
      type: 'IMPORT_METADATA_FROM_REPOSITORY',
      associationId: association.associationId,
    });

    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(task.status).toMatchObject({ totalCount: 2, succeededCount: 2, failedCount: 0 });
    expect(await readFile(join(stack.root, 'noimp/x/1.txt'), 'utf8')).toBe('object x/1.txt');
    expect(await readFile(join(stack.root, 'noimp/x/2.txt'), 'utf8')).toBe('object x/2.txt');
  });

  it('still resolves a conflict by the conflict policy (KEEP_BOTH) in an export task', async () => {
    await stack.createBucket('both');
    const association = await stack.associate('/both', 's3://both/', {
      autoExport: [],
      batchImportMetaDataOnCreate: false,
    });
    const root = join(stack.root, 'both');
    await writeFile(join(root, 'same.txt'), 'the file-system version');
    await stack.s3.send(new PutObjectCommand({ Bucket: 'both', Key: 'same.txt', Body: 'the S3 version' }));
    const tasks = await taskHarness(stack);

    const task = await tasks.run({ type: 'EXPORT_TO_REPOSITORY', associationId: association.associationId });

    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(await readFile(join(root, 'same.txt'), 'utf8')).toBe('the S3 version');
    const copies = (await readdir(root)).filter((name) => name.startsWith('same.conflict-'));
    expect(copies).toHaveLength(1);
    expect(await readFile(join(root, copies[0]!), 'utf8')).toBe('the file-system version');
    expect(await keys('both')).toEqual([copies[0]!, 'same.txt'].sort());
  });
});
