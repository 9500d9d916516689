import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/adapters/clients.ts';
import { ControlClient } from '../../src/cli/transport.ts';
import type { TaskType } from '../../src/tasks/model.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
/** USER_HZ: /proc reports CPU times in these ticks (100 on Linux x86-64 and arm64). */
const CLOCK_TICKS = 100;

/** The part of GET /status the benchmarks read. */
export interface BenchStatus {
  transfers: { imports: number; exports: number; objectDeletes: number; fileDeletes: number; total: number };
  events: { s3: number; fs: number };
  unchanged: number;
  recorded: number;
  echoesDropped: number;
  failed: number;
  rejected: number;
  idle: boolean;
  pipe: { queued: number; inFlight: number; delivered: number; failed: number; deadLettered: number };
  watcherPending: number;
  reconciling: number;
  problems: Array<{ code: string; path?: string; key?: string; message?: string }>;
}

export interface BenchLocalOptions {
  root: string;
  state: string;
  /** Extra node flags for the child, e.g. `--cpu-prof` (Node refuses that one in NODE_OPTIONS). */
  nodeArgs?: string[];
  /** Extra environment variables for the child. */
  env?: Record<string, string>;
  /** Where the child's stderr (its JSON logs) goes; discarded when absent. */
  logFile?: string;
  /** POWERTOOLS_LOG_LEVEL of the child: INFO gives the `{action, ms}` lines a profile reads. */
  logLevel?: string;
}

/**
 * The real `bucketlink local` process (`bin/bucketlink.mjs`), as the e2e
 * tests start it (test/support/bucketlink.ts), plus what a benchmark needs:
 * timed start, idle detection with a hold-down, and the child's peak RSS.
 */
export class BenchLocal {
  s3!: S3Client;
  s3Endpoint = '';
  controlEndpoint = '';
  control!: ControlClient;
  child!: ChildProcess;
  /** ms from spawn to the first stdout line (peers up, tables ready, watcher armed). */
  startupMs = 0;
  #stderrTail = '';

  constructor(readonly options: BenchLocalOptions) {}

  static async start(options: BenchLocalOptions): Promise<BenchLocal> {
    const local = new BenchLocal(options);
    await local.spawn();
    return local;
  }

  async spawn(): Promise<void> {
    const started = performance.now();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      POWERTOOLS_LOG_LEVEL: this.options.logLevel ?? 'WARN',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...this.options.env,
    };
    const args = [...(this.options.nodeArgs ?? []), BIN, 'local', '--root', this.options.root];
    args.push('--state', this.options.state, '--s3-port', '0', '--control-port', '0');
    this.child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    // A benchmark that dies (or is killed by a test's timeout) must not leave its runtime behind.
    const child = this.child;
    const orphanGuard = () => child.kill('SIGKILL');
    process.once('exit', orphanGuard);
    child.once('exit', () => process.off('exit', orphanGuard));
    const log = this.options.logFile ? createWriteStream(this.options.logFile, { flags: 'a' }) : undefined;
    this.child.stderr!.on('data', (chunk: Buffer) => {
      log?.write(chunk);
      this.#stderrTail = (this.#stderrTail + chunk.toString()).slice(-4000);
    });
    // Log lines (Powertools writes INFO to stdout) go to the log file; the first line is the endpoints.
    this.child.stdout!.on('data', (chunk: Buffer) => log?.write(chunk));
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).once('line', resolve);
      this.child.once('exit', (code) =>
        reject(new Error(`bucketlink local exited ${code}: ${this.#stderrTail}`)),
      );
    });
    this.startupMs = performance.now() - started;
    const endpoints = JSON.parse(line) as { s3Endpoint: string; controlEndpoint: string };
    this.s3Endpoint = endpoints.s3Endpoint;
    this.controlEndpoint = endpoints.controlEndpoint;
    this.s3 = createS3Client({ endpoint: this.s3Endpoint });
    const token = (await readFile(join(this.options.state, 'control-token'), 'utf8')).trim();
    this.control = new ControlClient(this.controlEndpoint, token);
  }

  async status(): Promise<BenchStatus> {
    return (await this.control.status()) as BenchStatus;
  }

  /**
   * Resolves with the moment (performance.now()) the runtime became idle,
   * once it has stayed idle for `holdMs`. The hold-down covers the watcher's
   * quiet window and inotify latency: an import's own file writes reach the
   * watcher a little after the apply that made them, and a single idle poll
   * in between would end the clock too early.
   */
  async idleSince(options: { holdMs?: number; pollMs?: number; timeoutMs?: number } = {}): Promise<number> {
    const { holdMs = 400, pollMs = 20, timeoutMs = 30 * 60_000 } = options;
    const deadline = performance.now() + timeoutMs;
    let since: number | undefined;
    for (;;) {
      const before = performance.now();
      const status = await this.status();
      if (status.idle) since ??= before;
      else since = undefined;
      if (since !== undefined && performance.now() - since >= holdMs) return since;
      if (performance.now() > deadline)
        throw new Error(`not idle after ${timeoutMs} ms: ${JSON.stringify(status)}`);
      await sleep(pollMs);
    }
  }

  /** Creates an association; `syncOnCreate: false` skips the creation-time sync (a task does the work instead). */
  async createAssociation(
    fileSystemPath: string,
    dataRepositoryPath: string,
    syncOnCreate = true,
  ): Promise<string> {
    const created = (await this.control.send({
      action: 'createAssociation',
      fileSystemPath,
      dataRepositoryPath,
      batchImportMetaDataOnCreate: syncOnCreate,
    })) as { association: { associationId: string } };
    return created.association.associationId;
  }

  /**
   * Runs a repository task and polls it until it ends; resolves when
   * SUCCEEDED was seen (performance.now()) with the task's failed count,
   * throws on any other end.
   */
  async runTask(
    type: TaskType,
    associationId: string,
    pollMs = 20,
  ): Promise<{ doneAt: number; failedCount: number }> {
    const { task } = (await this.control.send({ action: 'createTask', type, associationId })) as {
      task: { taskId: string };
    };
    for (;;) {
      const { tasks } = (await this.control.send({ action: 'describeTasks', taskIds: [task.taskId] })) as {
        tasks: Array<{
          lifecycle: string;
          failureDetails?: { message: string };
          status: { failedCount: number };
        }>;
      };
      const [current] = tasks;
      if (current?.lifecycle === 'SUCCEEDED')
        return { doneAt: performance.now(), failedCount: current.status.failedCount };
      if (current && ['FAILED', 'CANCELED'].includes(current.lifecycle))
        throw new Error(`${type} ${task.taskId} ${current.lifecycle}: ${JSON.stringify(current)}`);
      await sleep(pollMs);
    }
  }

  async lifecycle(associationId: string): Promise<string> {
    const described = (await this.control.send({
      action: 'describeAssociations',
      associationIds: [associationId],
    })) as { associations: Array<{ lifecycle: string }> };
    return described.associations[0]!.lifecycle;
  }

  /** Polls until the association is AVAILABLE; returns when that was seen. */
  async available(associationId: string, pollMs = 20): Promise<number> {
    for (;;) {
      const lifecycle = await this.lifecycle(associationId);
      if (lifecycle === 'AVAILABLE') return performance.now();
      if (lifecycle === 'FAILED' || lifecycle === 'MISCONFIGURED')
        throw new Error(`${associationId} is ${lifecycle}`);
      await sleep(pollMs);
    }
  }

  async deleteAssociation(associationId: string): Promise<void> {
    await this.control.send({ action: 'deleteAssociation', associationId, deleteDataInFileSystem: false });
  }

  /**
   * CPU time (user + system) the child and its own children (the embedded S3
   * server runs in one) have used so far, in ms: what the run cost, whatever
   * else the machine did.
   */
  async cpuMs(): Promise<number> {
    const pid = this.child.pid!;
    let ticks = 0;
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
      // Fields after the parenthesised command name: ppid is the 4th field overall, utime and stime the 14th and 15th.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(entry) === pid || Number(fields[1]) === pid)
        ticks += Number(fields[11]) + Number(fields[12]);
    }
    return (ticks * 1000) / CLOCK_TICKS;
  }

  /**
   * HTTP requests the child's servers answered so far, by kind (only under
   * --profile, when count-requests.mjs is preloaded; it writes every second,
   * so this waits that long first).
   */
  async requestCounts(): Promise<Record<string, number> | undefined> {
    const base = this.options.env?.BENCH_REQUEST_COUNTS;
    if (!base) return undefined;
    await sleep(1100);
    return JSON.parse(await readFile(`${base}.${this.child.pid}.json`, 'utf8')) as Record<string, number>;
  }

  /** Peak resident set size of the child so far (VmHWM), in bytes. */
  async peakRss(): Promise<number> {
    return procStatusBytes(this.child.pid!, 'VmHWM');
  }

  async rss(): Promise<number> {
    return procStatusBytes(this.child.pid!, 'VmRSS');
  }

  /** Resets VmHWM to the current RSS (Linux clear_refs "5"), so a peak belongs to one measurement. */
  async resetPeakRss(): Promise<void> {
    await writeFile(`/proc/${this.child.pid}/clear_refs`, '5');
  }

  /** Graceful stop (SIGTERM): the runtime closes its peers and, under --cpu-prof, writes the profile. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** Requests per item between two request-count snapshots (e.g. 2.05 `s3 HEAD` per imported file). */
export function requestsPerItem(
  before: Record<string, number> | undefined,
  after: Record<string, number> | undefined,
  items: number,
): Record<string, number> | undefined {
  if (!before || !after || !items) return undefined;
  return Object.fromEntries(
    Object.entries(after)
      .filter(([kind]) => !kind.startsWith('control'))
      .map(([kind, count]) => [kind, Number(((count - (before[kind] ?? 0)) / items).toFixed(2))])
      .filter(([, perItem]) => perItem !== 0),
  );
}

async function procStatusBytes(pid: number, field: string): Promise<number> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
