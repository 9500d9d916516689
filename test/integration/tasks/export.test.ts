import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileTree } from '../../../src/adapters/ports.ts';
import { SyncError } from '../../../src/core/errors.ts';
import { type Stack, startStack } from '../../support/stack.ts';
import { inParallel, parseCsv, readObject, taskHarness } from './harness.ts';

/** Files in the tree besides the 7 that cannot be exported (TASKS_EXPORT_FILES=5000 for the size). */
const FILES = Number(process.env.TASKS_EXPORT_FILES ?? 500);

/** A FileTree whose reads of chosen paths fail, as an unreadable file does for a non-root user. */
function unreadable(tree: FileTree, paths: Set<string>): FileTree {
  return new Proxy(tree, {
    get(target, property, receiver) {
      if (property === 'openForExport') {
        return async (root: string, path: string) => {
          if (paths.has(path)) throw new SyncError('AccessDenied', `${path}: permission denied (injected)`);
          return target.openForExport(root, path);
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('an EXPORT_TO_REPOSITORY task over a tree with files that cannot be exported', () => {
  let stack: Stack;
  let socket: Server;

  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    socket?.close();
    await stack?.close();
  });

  it('exports the rest, ends FAILED, and failures.csv lists exactly the 7 with their codes', async () => {
    await stack.createBucket('exp');
    const association = await stack.associate('/exp', 's3://exp/', { batchImportMetaDataOnCreate: false });
    const root = join(stack.root, 'exp');
    const names = Array.from({ length: FILES }, (_, i) => `d${i % 10}/f${i}.txt`);
    for (let d = 0; d < 10; d++) await mkdir(join(root, `d${d}`), { recursive: true });
    await inParallel(names, 32, (name) => writeFile(join(root, name), `content of ${name}`));
    // The 7: two FIFOs, a socket, two names that are not UTF-8, a key over 1024 bytes, an unreadable file.
    await mkdir(join(root, 'special'));
    // A comma and quotes in a name: the CSV must quote the field (RFC 4180).
    execFileSync('mkfifo', [join(root, 'special/fifo-1'), join(root, 'special/fifo, "2"')]);
    socket = createServer();
    await new Promise<void>((done) => socket.listen(join(root, 'special/sock'), done));
    await writeFile(
      Buffer.concat([Buffer.from(join(root, 'special/latin1-')), Buffer.from([0xe9]), Buffer.from('.txt')]),
      'x',
    );
    await writeFile(Buffer.concat([Buffer.from(join(root, 'special/bad-')), Buffer.from([0xff, 0xfe])]), 'x');
    // Segments stay short: s3rver stores a key's segments as file names of its own, with a suffix.
    const deep = Array.from({ length: 8 }, (_, i) => `${i}`.repeat(120)).join('/');
    await mkdir(join(root, deep), { recursive: true });
    const longPath = `${deep}/${'k'.repeat(80)}.txt`;
    await writeFile(join(root, longPath), 'long');
    await writeFile(join(root, 'special/secret.txt'), 'unreadable');
    const tasks = await taskHarness(stack, {
      tree: unreadable(stack.adapters.tree, new Set(['special/secret.txt'])),
    });

    const task = await tasks.run({
      type: 'EXPORT_TO_REPOSITORY',
      associationId: association.associationId,
      reportPath: 's3://exp/reports',
    });

    // As FSx: a task with any failed file ends FAILED, and failureDetails names the first ones.
    expect(task.lifecycle).toBe('FAILED');
    expect(task.failureDetails?.message).toMatch(/^7 of \d+ paths failed: .*UnsupportedFileType/);
    expect(task.status.failedCount).toBe(7);
    expect(task.status.succeededCount).toBe(task.status.totalCount - 7);
    const csv = await readObject(stack, 'exp', `reports/${task.taskId}/failures.csv`);
    expect(csv).toContain('"special/fifo, ""2""",FAILED,UnsupportedFileType\r\n');
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual(['FilePath', 'FileStatus', 'ErrorCode']);
    const failures = rows
      .slice(1)
      .map(([path, status, code]) => ({ path, status, code }))
      .sort((a, b) => a.path!.localeCompare(b.path!));
    expect(failures).toEqual(
      [
        { path: longPath, status: 'FAILED', code: 'S3ExportPathSizeTooLong' },
        { path: 'special/bad-\uFFFD\uFFFD', status: 'FAILED', code: 'S3ExportPathSizeTooLong' },
        { path: 'special/fifo-1', status: 'FAILED', code: 'UnsupportedFileType' },
        { path: 'special/fifo, "2"', status: 'FAILED', code: 'UnsupportedFileType' },
        { path: 'special/latin1-\uFFFD.txt', status: 'FAILED', code: 'S3ExportPathSizeTooLong' },
        { path: 'special/secret.txt', status: 'FAILED', code: 'AccessDenied' },
        { path: 'special/sock', status: 'FAILED', code: 'UnsupportedFileType' },
      ].sort((a, b) => a.path.localeCompare(b.path)),
    );
    const summary = JSON.parse(await readObject(stack, 'exp', `reports/${task.taskId}/summary.json`));
    expect(summary.status.failedCount).toBe(7);
    // Every ordinary file is an object now.
    let exported = 0;
    let ContinuationToken: string | undefined;
    do {
      const page = await stack.s3.send(
        new ListObjectsV2Command({ Bucket: 'exp', Prefix: 'd', ContinuationToken }),
      );
      exported += page.KeyCount ?? 0;
      ContinuationToken = page.NextContinuationToken;
    } while (ContinuationToken);
    expect(exported).toBe(FILES);
    expect(await readObject(stack, 'exp', names[FILES - 1]!)).toBe(`content of ${names[FILES - 1]}`);
  });

  it('refuses a report path outside every association', async () => {
    const tasks = await taskHarness(stack);
    const [association] = await stack.adapters.associations.list();
    await stack.createBucket('elsewhere');
    await expect(
      tasks.create({
        type: 'EXPORT_TO_REPOSITORY',
        associationId: association!.associationId,
        reportPath: 's3://elsewhere/reports/',
      }),
    ).rejects.toMatchObject({ code: 'InvalidReportPath' });
  });
});
