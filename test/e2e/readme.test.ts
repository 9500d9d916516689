import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/clients.ts';

const REPO = new URL('../..', import.meta.url).pathname;
const BIN = join(REPO, 'bin/bucketlink.mjs');
const run = promisify(execFile);

/**
 * The README's quick start, run as written: `npm start`, then every command
 * of its two shell blocks ("In a second terminal" and "Next steps") in
 * order. Only what must differ on a shared test machine is substituted: free
 * ports instead of 4566/4567, a temp directory instead of ./data, and the
 * CLI by its path instead of `npx` (the same bin). A command that fails is
 * tried again for a while, as a user re-runs `ls` until the file arrived;
 * one that never succeeds fails the test with its output.
 */

/** The shell blocks under `## Quick start` (up to the next `## `), in order. */
function quickStartBlocks(readme: string): string[][] {
  const start = readme.indexOf('## Quick start');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) =>
    match[1]!
      .split('\n')
      .map((line) => line.replace(/\s+#.*$/, '').trim())
      .filter(Boolean),
  );
}

describe('the README quick start', () => {
  let base: string;
  let runtime: ChildProcess;
  let started: { s3Endpoint: string; controlEndpoint: string };
  let env: Record<string, string>;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'bucketlink-readme-'));
    env = {
      ...(process.env as Record<string, string>),
      BUCKETLINK_CONFIG_DIR: join(base, 'config'),
      POWERTOOLS_LOG_LEVEL: 'WARN',
    };
    const [install] = quickStartBlocks(await readFile(join(REPO, 'README.md'), 'utf8'));
    expect(install).toEqual(['npm install', 'npm start']);
    runtime = spawn(
      'npm',
      [
        'start',
        '--silent',
        '--',
        '--root',
        join(base, 'data/fs'),
        '--state',
        join(base, 'data/state'),
        '--s3-port',
        '0',
        '--control-port',
        '0',
      ],
      { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    let stderr = '';
    runtime.stderr!.on('data', (chunk) => {
      stderr += chunk;
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: runtime.stdout! }).once('line', resolve);
      runtime.once('exit', (code) => reject(new Error(`npm start exited ${code}: ${stderr}`)));
    });
    started = JSON.parse(line);
    env.BUCKETLINK_ENDPOINT = started.controlEndpoint;
  }, 60_000);

  afterAll(async () => {
    if (runtime?.pid) process.kill(-runtime.pid, 'SIGTERM');
    await new Promise((resolve) => runtime?.once('exit', resolve));
    await rm(base, { recursive: true, force: true });
  });

  it('works command by command, as written', async () => {
    const [, tryIt, nextSteps] = quickStartBlocks(await readFile(join(REPO, 'README.md'), 'utf8'));
    expect(tryIt?.length).toBeGreaterThan(3);
    expect(nextSteps?.length).toBeGreaterThan(3);
    const s3Port = new URL(started.s3Endpoint).port;
    let associationId = '';
    for (const written of [...tryIt!, ...nextSteps!]) {
      const command = written
        .replaceAll('http://127.0.0.1:4566', `http://127.0.0.1:${s3Port}`)
        .replaceAll('data/fs/', `${base}/data/fs/`)
        .replaceAll('npx bucketlink', `node ${BIN}`)
        .replaceAll('dra-…', associationId)
        // Debian's AWS CLI (.ci/run installs it); another `aws` may come first on PATH.
        .replace(/^aws /, '/usr/bin/aws ');
      if (command.startsWith('export ')) {
        for (const [, name, value] of command.matchAll(/(\w+)=(\S+)/g)) env[name!] = value!;
        continue;
      }
      const output = await untilItWorks(command, env);
      const created = /"associationId":\s*"(dra-[0-9a-f]+)"/.exec(output);
      if (written.includes('associations create') && created) associationId = created[1]!;
    }
    expect(associationId).toMatch(/^dra-/);

    // What the commands promised: the demo file was exported, the copied object imported,
    // and the new association exported what its directory held.
    const s3 = createS3Client({ endpoint: started.s3Endpoint });
    const body = async (Bucket: string, Key: string) =>
      (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToString();
    expect(await body('demo', 'hello.txt')).toBe('hello\n');
    expect(await readFile(join(base, 'data/fs/demo/docs/README.md'), 'utf8')).toBe(
      await readFile(join(REPO, 'README.md'), 'utf8'),
    );
    expect(await body('logs', 'app.log')).toBe('first\n');
  }, 180_000);
});

/** Runs one README line in bash; re-runs it until it exits 0 (at most 30 s); returns its stdout. */
async function untilItWorks(command: string, env: Record<string, string>): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const { stdout } = await run('bash', ['-c', command], { cwd: REPO, env, timeout: 120_000 });
      return stdout;
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; code?: number };
      if (Date.now() > deadline)
        throw new Error(
          `README command failed: ${command}\nexit ${failed.code}\n${failed.stdout}${failed.stderr}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
