import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProcess } from '../support/bucketlink.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
const FILES = Number(process.env.TASKS_INTERRUPT_FILES ?? 300);

/** Ctrl-C during `tasks create --wait`, sent as a real SIGINT to the real CLI process. */
describe('Ctrl-C while waiting for a task', () => {
  let local: LocalProcess;
  let associationId: string;

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('big');
    // Written before the association exists, and not synced at its creation: only the task moves them.
    await mkdir(join(local.root, 'big'), { recursive: true });
    for (let i = 0; i < FILES; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, j) =>
          writeFile(join(local.root, 'big', `f${i + j}.txt`), `file ${i + j}`),
        ),
      );
    }
    associationId = await local.associate('/big', 's3://big/', '--no-batch-import-meta-data-on-create');
  }, 120_000);
  afterAll(async () => {
    await local?.stop();
  });

  it('says the task goes on, prints the command that waits for it again, exits 130, and that command works', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'tasks', 'create', '--type', 'EXPORT_TO_REPOSITORY', '--association', associationId, '--wait'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        // As a user's shell has it: the endpoint, and the per-user directory the CLI finds the token in.
        env: { ...process.env, ...local.cliEnv },
      },
    );
    let stderr = '';
    const lines = createInterface({ input: child.stderr! });
    const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const polling = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        stderr += `${line}\n`;
        if (line.includes('"lifecycle"')) resolve();
      });
      // A CLI that ends before its first poll (refused, unreachable) fails the test at once, with what it said.
      void closed.then((code) =>
        reject(new Error(`tasks create --wait exited ${code} before polling: ${stderr}`)),
      );
    });
    await polling;

    child.kill('SIGINT');

    expect(await closed).toBe(130);
    const last = stderr.trimEnd().split('\n').at(-1)!;
    const match =
      /^bucketlink: Interrupted: task (\S+) goes on \(Ctrl-C stopped only the waiting\); wait for it again with: (bucketlink tasks wait \S+ --endpoint \S+)$/.exec(
        last,
      );
    expect(match, last).not.toBeNull();
    const [, taskId, again] = match!;
    expect(again).toBe(`bucketlink tasks wait ${taskId} --endpoint ${local.controlEndpoint}`);

    // The printed command, run as printed (without the environment that pointed the first one).
    const waited = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const rerun = spawn(process.execPath, [BIN, ...again!.split(' ').slice(1)], {
        stdio: ['ignore', 'pipe', 'ignore'],
        env: { ...process.env, BUCKETLINK_ENDPOINT: '', BUCKETLINK_CONFIG_DIR: local.configDirectory },
      });
      let stdout = '';
      rerun.stdout!.on('data', (chunk) => {
        stdout += chunk;
      });
      rerun.once('close', (code) => resolve({ code, stdout }));
    });
    const { task } = JSON.parse(waited.stdout);
    // The task ran on to its end after the first waiter stopped; it was not cancelled.
    expect(task).toMatchObject({ taskId, lifecycle: expect.stringMatching(/^(SUCCEEDED|FAILED)$/) });
    expect(waited.code).toBe(task.lifecycle === 'SUCCEEDED' ? 0 : 1);
    if (task.lifecycle === 'SUCCEEDED') {
      let objects = 0;
      for await (const page of paginateListObjectsV2({ client: local.s3 }, { Bucket: 'big' }))
        objects += page.KeyCount ?? 0;
      expect(objects).toBe(FILES);
    }
  }, 300_000);
});
