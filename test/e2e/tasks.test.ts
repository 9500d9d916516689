import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DeleteBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inParallel } from '../integration/tasks/harness.ts';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

/**
 * Repository tasks and the association lifecycle, through the real CLI and
 * `bucketlink local`. Sizes are parameters: the defaults keep `npm test`
 * quick; TASKS_IMPORT_OBJECTS=20000 TASKS_MEMORY_OBJECTS=10000 run the
 * issue's sizes (the memory test imports 1× and 3× its figure).
 */
const IMPORT_OBJECTS = Number(process.env.TASKS_IMPORT_OBJECTS ?? 400);
const MEMORY_OBJECTS = Number(process.env.TASKS_MEMORY_OBJECTS ?? 300);
/** Time allowed for work on `n` objects: generous, as the scale runs (20,000+) share two cores. */
const allow = (n: number) => 300_000 + 150 * n;

const body = (key: string) => `object ${key}\n`.repeat(4);

async function putObjects(s3: S3Client, bucket: string, count: number): Promise<string[]> {
  const keys = Array.from({ length: count }, (_, i) => `p${i % 20}/obj-${i}.txt`);
  await inParallel(keys, 32, (Key) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body(Key) })),
  );
  return keys;
}

async function countFiles(dir: string): Promise<{ files: number; temp: number }> {
  let files = 0;
  let temp = 0;
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.name.startsWith('.bucketlink-tmp-')) temp++;
    else if (entry.isFile() && entry.name !== '.bucketlink') files++;
  }
  return { files, temp };
}

async function json<T>(local: LocalProcess, ...args: string[]): Promise<T> {
  const result = await local.cli(...args);
  if (result.code !== 0) throw new Error(`${args.join(' ')}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

interface Task {
  taskId: string;
  lifecycle: string;
  status: { totalCount: number; succeededCount: number; failedCount: number };
}

/** Peak resident set of a process (VmHWM), in MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('repository tasks through bucketlink local', () => {
  let local: LocalProcess;

  beforeAll(async () => {
    local = await LocalProcess.start();
  });
  afterAll(async () => {
    await local?.stop();
  });

  it(
    `imports all ${IMPORT_OBJECTS} existing objects when an association is created, counts rising on the way`,
    async () => {
      await local.createBucket('bulk');
      await putObjects(local.s3, 'bulk', IMPORT_OBJECTS);
      const { association } = await json<{ association: { associationId: string } }>(
        local,
        'associations',
        'create',
        '--file-system-path',
        '/bulk',
        '--data-repository-path',
        's3://bulk/',
      );
      const seen: number[] = [];
      const task = await eventually(async () => {
        const { tasks } = await json<{ tasks: Task[] }>(
          local,
          'tasks',
          'describe',
          '--association',
          association.associationId,
        );
        const current = tasks[0];
        if (current) seen.push(current.status.succeededCount);
        return current?.lifecycle === 'SUCCEEDED' ? current : undefined;
      }, allow(IMPORT_OBJECTS));

      expect(task.status.succeededCount).toBe(IMPORT_OBJECTS);
      expect(task.status.failedCount).toBe(0);
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen.some((count) => count > 0 && count < IMPORT_OBJECTS)).toBe(true);
      expect(await countFiles(join(local.root, 'bulk'))).toEqual({ files: IMPORT_OBJECTS, temp: 0 });
      const described = await json<{ associations: Array<{ lifecycle: string }> }>(
        local,
        'associations',
        'describe',
        association.associationId,
      );
      expect(described.associations[0]!.lifecycle).toBe('AVAILABLE');
    },
    allow(2 * IMPORT_OBJECTS),
  );

  it(
    'cancels a running import: CANCELED, fewer than all imported, no partial files',
    async () => {
      await local.createBucket('halt');
      const keys = await putObjects(local.s3, 'halt', IMPORT_OBJECTS);
      const id = await local.associate('/halt', 's3://halt/', '--no-batch-import-meta-data-on-create');
      const { task } = await json<{ task: Task }>(
        local,
        'tasks',
        'create',
        '--type',
        'IMPORT_METADATA_FROM_REPOSITORY',
        '--association',
        id,
      );
      // Watched through the control API itself, not a CLI process per poll: a 400-object import
      // is done in a few seconds now, and the cancel must land while it runs.
      await eventually(async () => {
        const response = await fetch(`${local.controlEndpoint}/control`, {
          method: 'POST',
          headers: { ...local.headers, 'content-type': 'application/json' },
          body: JSON.stringify({ action: 'describeTasks', taskIds: [task.taskId] }),
        });
        const { tasks } = (await response.json()) as { tasks: Task[] };
        return tasks[0]!.lifecycle === 'EXECUTING';
      }, 120_000);

      const canceled = await json<{ task: Task }>(local, 'tasks', 'cancel', task.taskId);
      const waited = await local.cli('tasks', 'wait', task.taskId);

      expect(canceled.task.lifecycle).toBe('CANCELING');
      const final = JSON.parse(waited.stdout).task as Task;
      expect(final.lifecycle).toBe('CANCELED');
      expect(waited.code).not.toBe(0);
      // Not a TTY here: progress comes as JSON lines on stderr.
      expect(JSON.parse(waited.stderr.trim().split('\n').at(-1)!).lifecycle).toBe('CANCELED');
      expect(final.status.succeededCount).toBeLessThan(IMPORT_OBJECTS);
      const filtered = await json<{ tasks: Task[] }>(
        local,
        'tasks',
        'describe',
        '--association',
        id,
        '--lifecycle',
        'CANCELED,FAILED',
      );
      expect(filtered.tasks.map((t) => t.taskId)).toEqual([task.taskId]);
      const dir = join(local.root, 'halt');
      const { files, temp } = await countFiles(dir);
      expect(temp).toBe(0);
      expect(files).toBeLessThan(IMPORT_OBJECTS);
      // Every file that exists is whole.
      for (const key of keys) {
        const content = await readFile(join(dir, key), 'utf8').catch(() => undefined);
        if (content !== undefined) expect(content).toBe(body(key));
      }
    },
    allow(IMPORT_OBJECTS),
  );

  it('moves data with an export task when auto-export is off, takes FSx paths, and refuses one outside', async () => {
    await local.createBucket('manual');
    const id = await local.associate(
      '/manual',
      's3://manual/',
      '--auto-export',
      '',
      '--no-batch-import-meta-data-on-create',
    );
    const dir = join(local.root, 'manual');
    await mkdir(join(dir, 'docs'), { recursive: true });
    await mkdir(join(dir, 'other'), { recursive: true });
    for (const name of ['docs/a.txt', 'docs/b.txt', 'other/c.txt']) await writeFile(join(dir, name), name);
    await local.settle();
    const keys = async () =>
      ((await local.s3.send(new ListObjectsV2Command({ Bucket: 'manual' }))).Contents ?? [])
        .map((o) => o.Key!)
        .sort();
    expect(await keys()).toEqual([]);

    const outside = await local.cli(
      'tasks',
      'create',
      '--type',
      'EXPORT_TO_REPOSITORY',
      '--association',
      id,
      '--paths',
      '../etc',
    );
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toMatch(
      /^bucketlink: BadRequest: path "\.\.\/etc" is outside the association at \/manual[^\n]*\n$/,
    );

    const created = await local.cli(
      'tasks',
      'create',
      '--type',
      'EXPORT_TO_REPOSITORY',
      '--association',
      id,
      '--paths',
      '/manual/docs',
      '--wait',
    );

    expect(created.code, created.stderr).toBe(0);
    const task = JSON.parse(created.stdout).task as Task;
    expect(task.lifecycle).toBe('SUCCEEDED');
    expect(task.status).toMatchObject({ totalCount: 3, succeededCount: 3, failedCount: 0 });
    expect(await keys()).toEqual(['docs/a.txt', 'docs/b.txt']);
    // Progress, one JSON line per poll off a TTY: never more done than the total.
    for (const line of created.stderr.trim().split('\n')) {
      const status = JSON.parse(line) as Task['status'];
      expect(status.succeededCount + status.failedCount).toBeLessThanOrEqual(status.totalCount);
    }
  }, 120_000);
});

describe('memory of an import does not grow with the object count', () => {
  const peaks: Record<number, number> = {};

  for (const count of [MEMORY_OBJECTS, MEMORY_OBJECTS * 3]) {
    it(
      `imports ${count} objects`,
      async () => {
        const local = await LocalProcess.start();
        try {
          await local.createBucket('mem');
          await putObjects(local.s3, 'mem', count);
          const id = await local.associate('/mem', 's3://mem/', '--no-batch-import-meta-data-on-create');
          const baseline = await peakRssMiB(local.child.pid!);
          const created = await local.cli(
            'tasks',
            'create',
            '--type',
            'IMPORT_METADATA_FROM_REPOSITORY',
            '--association',
            id,
            '--wait',
          );
          expect(created.code, created.stderr).toBe(0);
          expect(JSON.parse(created.stdout).task.status.succeededCount).toBe(count);
          peaks[count] = await peakRssMiB(local.child.pid!);
          console.log(
            JSON.stringify({
              objects: count,
              peakRssMiB: Math.round(peaks[count]!),
              beforeTaskMiB: Math.round(baseline),
            }),
          );
        } finally {
          await local.stop();
        }
      },
      allow(2 * count),
    );
  }

  it('peaks within 1.5× at 3× the objects', () => {
    const small = peaks[MEMORY_OBJECTS]!;
    const large = peaks[MEMORY_OBJECTS * 3]!;
    console.log(JSON.stringify({ ratio: Number((large / small).toFixed(2)), small, large }));
    expect(large).toBeLessThanOrEqual(small * 1.5);
  });
});

describe('association lifecycle', () => {
  let local: LocalProcess;

  beforeAll(async () => {
    local = await LocalProcess.start();
  });
  afterAll(async () => {
    await local?.stop();
  });

  const lifecycleOf = async (id: string) =>
    (
      await json<{ associations: Array<{ lifecycle: string; failureDetails?: { message: string } }> }>(
        local,
        'associations',
        'describe',
        id,
      )
    ).associations[0]!;

  it('pauses as MISCONFIGURED instead of deleting when the root is emptied, and resume deletes nothing', async () => {
    await local.createBucket('keep');
    const id = await local.associate('/keep', 's3://keep/');
    const dir = join(local.root, 'keep');
    const names = Array.from({ length: 60 }, (_, i) => `f${i}.txt`);
    for (const name of names) await writeFile(join(dir, name), name);
    const objects = async () =>
      (await local.s3.send(new ListObjectsV2Command({ Bucket: 'keep' }))).KeyCount ?? 0;
    await eventually(async () => (await objects()) === 60, 60_000);
    const before = await local.settle();

    // The sentinel stays (`rm *` skips dotfiles): only the emptiness gives it away.
    for (const name of names) await rm(join(dir, name));
    const after = await local.settle();
    const paused = await eventually(async () => {
      const association = await lifecycleOf(id);
      return association.lifecycle === 'MISCONFIGURED' ? association : undefined;
    });

    expect(after.transfers.objectDeletes - before.transfers.objectDeletes).toBe(0);
    expect(await objects()).toBe(60);
    expect(paused.failureDetails?.message).toMatch(/root is empty/);

    for (const name of names) await writeFile(join(dir, name), name);
    await local.settle();
    const resumed = await json<{ association: { lifecycle: string } }>(local, 'associations', 'resume', id);
    const end = await local.settle();

    expect(resumed.association.lifecycle).toBe('AVAILABLE');
    expect(end.transfers.objectDeletes - before.transfers.objectDeletes).toBe(0);
    expect(await objects()).toBe(60);
  }, 120_000);

  it('marks an association MISCONFIGURED when its bucket is deleted, and AVAILABLE and reconciled at once when it is back', async () => {
    await local.createBucket('vanishing');
    const id = await local.associate('/vanishing', 's3://vanishing/');

    await local.s3.send(new DeleteBucketCommand({ Bucket: 'vanishing' }));
    const misconfigured = await eventually(async () => {
      const association = await lifecycleOf(id);
      return association.lifecycle === 'MISCONFIGURED' ? association : undefined;
    });
    expect(misconfigured.failureDetails?.message).toMatch(/vanishing/);
    // Written while the bucket is gone: its events fail; the reconcile after the recovery exports it.
    await writeFile(join(local.root, 'vanishing', 'meanwhile.txt'), 'meanwhile');

    await local.createBucket('vanishing');
    await eventually(async () => (await lifecycleOf(id)).lifecycle === 'AVAILABLE');
    expect((await lifecycleOf(id)).failureDetails).toBeUndefined();
    const keys = async () =>
      ((await local.s3.send(new ListObjectsV2Command({ Bucket: 'vanishing' }))).Contents ?? []).map(
        (o) => o.Key,
      );
    expect(
      await eventually(async () => ((await keys()).includes('meanwhile.txt') ? true : undefined), 20_000),
    ).toBe(true);
  }, 60_000);
});
