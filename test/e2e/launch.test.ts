import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/clients.ts';
import { inParallel } from '../integration/tasks/harness.ts';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

/**
 * bucketlink works however it is started, with no node flag: listings past
 * one page (s3rver's continuation tokens need OpenSSL's legacy provider,
 * which only the embedded S3 process gets) answer from every launch path.
 */
const REPO = new URL('../..', import.meta.url).pathname;
const BIN = join(REPO, 'bin', 'bucketlink.mjs');
const KEYS = 1_050;
const run = promisify(execFile);
/** node on PATH, as a shebang (`/usr/bin/env node`) and npx need it. */
const env = {
  ...process.env,
  PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH}`,
  POWERTOOLS_LOG_LEVEL: 'WARN',
  NODE_OPTIONS: '',
};

interface Launched {
  child: ChildProcess;
  s3: S3Client;
  s3Endpoint: string;
  stderr: () => string;
}

async function launch(command: string, args: string[], cwd: string, state: string): Promise<Launched> {
  const child = spawn(
    command,
    [
      ...args,
      'local',
      '--root',
      join(state, 'fs'),
      '--state',
      state,
      '--s3-port',
      '0',
      '--control-port',
      '0',
    ],
    // Its own process group, so a stop can signal the group as a terminal's Ctrl-C does (npx does not forward SIGTERM).
    { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk) => {
    stderr += chunk;
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${command} exited ${code}: ${stderr}`)));
  });
  const { s3Endpoint } = JSON.parse(line) as { s3Endpoint: string };
  return { child, s3: createS3Client({ endpoint: s3Endpoint }), s3Endpoint, stderr: () => stderr };
}

/** Signals the launched process's group, or with `only` the bucketlink process alone. */
async function stop(launched: Launched, signal: NodeJS.Signals = 'SIGTERM', only = false): Promise<void> {
  launched.s3.destroy();
  if (launched.child.exitCode !== null) return;
  const exited = new Promise((resolve) => launched.child.once('exit', resolve));
  if (only) launched.child.kill(signal);
  else process.kill(-launched.child.pid!, signal);
  await exited;
}

/** Every key, page by page, as `aws s3 ls` and every paginating client reads them. */
async function listAll(
  s3: S3Client,
  bucket: string,
  maxKeys?: number,
): Promise<{ keys: number; pages: number }> {
  let token: string | undefined;
  let keys = 0;
  let pages = 0;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, MaxKeys: maxKeys }),
    );
    keys += page.KeyCount ?? 0;
    pages++;
    token = page.NextContinuationToken;
  } while (token);
  return { keys, pages };
}

/** True once nothing answers at `endpoint` any more. */
async function refused(endpoint: string): Promise<boolean> {
  return fetch(endpoint, { signal: AbortSignal.timeout(1_000) }).then(
    () => false,
    () => true,
  );
}

describe('bucketlink started every way, without --openssl-legacy-provider', () => {
  let base: string;
  let state: string;
  let elsewhere: string;
  let installedBin: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'bucketlink-launch-'));
    state = join(base, 'state');
    elsewhere = join(base, 'elsewhere');
    await mkdir(elsewhere);
    // An installed package: the packed tarball, unpacked where `npm install -g --prefix` puts it,
    // its dependencies this checkout's (no registry in a test), and the bin linked as npm links it.
    const prefix = join(base, 'prefix');
    const packageDir = join(prefix, 'lib', 'node_modules', 'bucketlink');
    await mkdir(packageDir, { recursive: true });
    await mkdir(join(prefix, 'bin'));
    const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', base], { cwd: REPO, env });
    await run('tar', ['xzf', join(base, stdout.trim()), '-C', packageDir, '--strip-components', '1']);
    await symlink(join(REPO, 'node_modules'), join(packageDir, 'node_modules'));
    installedBin = join(prefix, 'bin', 'bucketlink');
    await symlink('../lib/node_modules/bucketlink/bin/bucketlink.mjs', installedBin);

    const first = await launch(process.execPath, [BIN], REPO, state);
    try {
      await first.s3.send(new CreateBucketCommand({ Bucket: 'many' }));
      const keys = Array.from({ length: KEYS }, (_, i) => `k/${String(i).padStart(5, '0')}`);
      await inParallel(keys, 32, (Key) =>
        first.s3.send(new PutObjectCommand({ Bucket: 'many', Key, Body: Key })),
      );
    } finally {
      await stop(first);
    }
  }, 180_000);

  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  const ways: Array<[string, () => [string, string[], string]]> = [
    ['node bin/bucketlink.mjs', () => [process.execPath, ['bin/bucketlink.mjs'], REPO]],
    ['./bin/bucketlink.mjs', () => ['./bin/bucketlink.mjs', [], REPO]],
    ['node /abs/bin/bucketlink.mjs from another directory', () => [process.execPath, [BIN], elsewhere]],
    ['npx bucketlink', () => ['npx', ['--no-install', 'bucketlink'], REPO]],
    ['the bin of the installed package (npm pack)', () => [installedBin, [], elsewhere]],
  ];

  for (const [name, how] of ways) {
    it(`lists all ${KEYS} keys across pages when started as ${name}`, async () => {
      const launched = await launch(...how(), state);
      try {
        expect(await listAll(launched.s3, 'many')).toEqual({ keys: KEYS, pages: 2 });
        // `aws s3api list-objects-v2 --max-keys 1` walks with a token per key.
        const small = await listAll(launched.s3, 'many', 500);
        expect(small).toEqual({ keys: KEYS, pages: 3 });
      } finally {
        await stop(launched);
      }
      expect(launched.stderr()).not.toMatch(/InternalError|legacy/);
    }, 120_000);
  }

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGKILL'] as const) {
    it(`leaves no S3 server behind when the bucketlink process alone gets ${signal}`, async () => {
      const launched = await launch(process.execPath, [BIN], REPO, state);
      expect(await refused(launched.s3Endpoint)).toBe(false);

      await stop(launched, signal, true);

      await eventually(() => refused(launched.s3Endpoint), 10_000);
    }, 60_000);
  }
});

describe('a 3,000-object bucket through `node bin/bucketlink.mjs local`', () => {
  const COUNT = 3_000;
  let local: LocalProcess;

  beforeAll(async () => {
    local = await LocalProcess.start();
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('imports every object when the association is created (three listing pages), and ends AVAILABLE', async () => {
    await local.createBucket('three');
    const keys = Array.from({ length: COUNT }, (_, i) => `d${i % 10}/o-${i}.txt`);
    await inParallel(keys, 32, (Key) =>
      local.s3.send(new PutObjectCommand({ Bucket: 'three', Key, Body: Key })),
    );

    const id = await local.associate('/three', 's3://three/');

    const { tasks } = JSON.parse((await local.cli('tasks', 'describe', '--association', id)).stdout) as {
      tasks: Array<{
        type: string;
        lifecycle: string;
        status: { succeededCount: number; failedCount: number };
      }>;
    };
    expect(tasks[0]).toMatchObject({
      lifecycle: 'SUCCEEDED',
      status: { succeededCount: COUNT, failedCount: 0 },
    });
    const files = await readdir(join(local.root, 'three'), { recursive: true, withFileTypes: true });
    expect(files.filter((entry) => entry.isFile() && entry.name.startsWith('o-'))).toHaveLength(COUNT);
    expect(local.stderr).not.toMatch(/"level":"(ERROR|WARN)"/);
  }, 600_000);
});
