import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/adapters/clients.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
const run = promisify(execFile);

/** What GET /status serves. */
export interface Status {
  transfers: { imports: number; exports: number; objectDeletes: number; fileDeletes: number; total: number };
  conflicts: number;
  failed: number;
  rejected: number;
  idle: boolean;
  problems: Array<{ code: string; key?: string; path?: string; message?: string }>;
  [key: string]: unknown;
}

/** The real `bucketlink local` process, driven as a user drives it. */
export class LocalProcess {
  s3!: S3Client;
  s3Endpoint = '';
  controlEndpoint = '';
  /** The control API's credential, read from <state>/control-token as a user would. */
  token = '';
  child!: ChildProcess;
  stderr = '';

  /** What the runtime printed after its first line (its INFO/DEBUG log). */
  stdout = '';

  constructor(
    readonly root: string,
    readonly state: string,
    /** More `bucketlink local` flags (e.g. --s3-endpoint) and environment (the AWS credential chain). */
    readonly extra: { args?: string[]; env?: Record<string, string>; s3?: S3Client } = {},
  ) {}

  /**
   * Where the runtime publishes its token per endpoint and the CLI looks it up
   * (beside the state, so tests do not write into the user's ~/.config).
   */
  get configDirectory(): string {
    return join(dirname(this.state), 'bucketlink-config');
  }

  static async start(
    dirs?: { root: string; state: string },
    extra?: LocalProcess['extra'],
  ): Promise<LocalProcess> {
    const base = dirs ?? (await tempDirs());
    const local = new LocalProcess(base.root, base.state, extra);
    await local.#spawn();
    return local;
  }

  async #spawn(): Promise<void> {
    this.child = spawn(
      process.execPath,
      [
        BIN,
        'local',
        '--root',
        this.root,
        '--state',
        this.state,
        '--s3-port',
        '0',
        '--control-port',
        '0',
        ...(this.extra.args ?? []),
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          POWERTOOLS_LOG_LEVEL: 'WARN',
          BUCKETLINK_CONFIG_DIR: this.configDirectory,
          ...this.extra.env,
        },
      },
    );
    this.child.stderr!.on('data', (chunk) => {
      this.stderr += chunk;
    });
    const line = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout! });
      lines.once('line', (first) => {
        resolve(first);
        lines.on('line', (line) => {
          this.stdout += `${line}\n`;
        });
      });
      this.child.once('exit', (code) => reject(new Error(`bucketlink local exited ${code}: ${this.stderr}`)));
    });
    const started = JSON.parse(line) as { s3Endpoint: string; controlEndpoint: string };
    this.s3Endpoint = started.s3Endpoint;
    this.controlEndpoint = started.controlEndpoint;
    this.s3 = this.extra.s3 ?? createS3Client({ endpoint: this.s3Endpoint });
    this.token = (await readFile(join(this.state, 'control-token'), 'utf8')).trim();
  }

  /** Headers a legitimate client sends. */
  get headers(): Record<string, string> {
    return { 'x-bucketlink-token': this.token };
  }

  async status(query = ''): Promise<Status> {
    const response = await fetch(`${this.controlEndpoint}/status${query}`, { headers: this.headers });
    if (!response.ok) throw new Error(`GET /status: ${response.status} ${await response.text()}`);
    return (await response.json()) as Status;
  }

  /** Waits until nothing is pending anywhere, twice in a row. */
  async settle(timeoutMs = 30_000): Promise<Status> {
    const deadline = Date.now() + timeoutMs;
    let quietPolls = 0;
    for (;;) {
      const status = await this.status();
      quietPolls = status.idle ? quietPolls + 1 : 0;
      if (quietPolls >= 3) return status;
      if (Date.now() > deadline) throw new Error(`not idle after ${timeoutMs} ms: ${JSON.stringify(status)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Runs the real CLI against this runtime. */
  async cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    return runCli([BIN, ...args], this.cliEnv);
  }

  /** What a user's shell gives the CLI: the endpoint, and the per-user directory the token is found in. */
  get cliEnv(): Record<string, string> {
    return { BUCKETLINK_ENDPOINT: this.controlEndpoint, BUCKETLINK_CONFIG_DIR: this.configDirectory };
  }

  async createBucket(name: string): Promise<void> {
    await this.s3.send(new CreateBucketCommand({ Bucket: name }));
  }

  /** Creates an association through the CLI and waits for it to be AVAILABLE. */
  async associate(fileSystemPath: string, dataRepositoryPath: string, ...flags: string[]): Promise<string> {
    const created = await this.cli(
      'associations',
      'create',
      '--file-system-path',
      fileSystemPath,
      '--data-repository-path',
      dataRepositoryPath,
      ...flags,
    );
    if (created.code !== 0) throw new Error(created.stderr);
    const id = JSON.parse(created.stdout).association.associationId as string;
    for (let i = 0; i < 300; i++) {
      const described = JSON.parse((await this.cli('associations', 'describe', id)).stdout);
      if (described.associations[0].lifecycle === 'AVAILABLE') return id;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${id} never became AVAILABLE`);
  }

  /** Graceful stop (SIGTERM). */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }
}

export async function tempDirs(): Promise<{ root: string; state: string }> {
  const base = await mkdtemp(join(tmpdir(), 'bucketlink-e2e-'));
  return { root: join(base, 'fs'), state: join(base, 'state') };
}

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ stdout: string; stderr: string; code: number }> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { env: { ...process.env, ...env } });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const failed = error as { stdout: string; stderr: string; code: number };
    return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
  }
}

/** Polls until `check` returns a value other than undefined/false. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
