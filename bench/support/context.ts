import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataSpec } from './data.ts';
import { BenchLocal } from './local.ts';
import type { CaseResult } from './report.ts';

/** Sizes and switches of one `npm run bench` invocation (flags, or BENCH_* environment variables). */
export interface BenchParams {
  reps: number;
  seed: number;
  files: number;
  fileSize: number;
  largeCount: number;
  largeSize: number;
  changes: number;
  sustainedFiles: number;
  rates: number[];
  memoryObjects: number;
  /** Hold-down (ms) before "idle" counts: longer than the watcher's quiet window. */
  idleHoldMs: number;
  /** How bucketlink does a bulk job: a repository task, or an association's creation-time sync. */
  via: 'task' | 'association';
  /** Run the bucketlink child under --cpu-prof and INFO logs. */
  profile: boolean;
}

/** What a case gets from the runner. */
export interface BenchContext {
  params: BenchParams;
  /** A scratch directory of this case, removed afterwards (peers write here, outside bucketlink's root). */
  work: string;
  log(message: string): void;
  /** Starts a fresh `bucketlink local` whose root and state live under `work/<name>`. */
  startLocal(name: string): Promise<BenchLocal>;
}

/** A case returns its figures; the runner adds the command, timing and machine. */
export type CaseOutput = Pick<CaseResult, 'title' | 'method' | 'data' | 'table' | 'notes'>;

export interface BenchCase {
  name: string;
  run(ctx: BenchContext): Promise<CaseOutput>;
}

export function smallSpec(params: BenchParams): DataSpec {
  return { count: params.files, size: params.fileSize, seed: params.seed };
}

export function largeSpec(params: BenchParams): DataSpec {
  return { count: params.largeCount, size: params.largeSize, seed: params.seed + 1 };
}

/** "10000 × 4 KiB" */
export function describeSpec(spec: DataSpec): string {
  const size =
    spec.size >= 1024 * 1024
      ? `${spec.size / 1024 / 1024} MiB`
      : spec.size >= 1024
        ? `${spec.size / 1024} KiB`
        : `${spec.size} B`;
  return `${spec.count} × ${size}`;
}

const COUNT_REQUESTS = new URL('./count-requests.mjs', import.meta.url).href;

export function contextFor(params: BenchParams, work: string, log: (m: string) => void): BenchContext {
  return {
    params,
    work,
    log,
    async startLocal(name) {
      const base = join(work, name);
      const profiles = join(base, 'profile');
      if (params.profile) await mkdir(profiles, { recursive: true });
      return BenchLocal.start({
        root: join(base, 'fs'),
        state: join(base, 'state'),
        ...(params.profile
          ? {
              nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profiles}`, '--import', COUNT_REQUESTS],
              env: { BENCH_REQUEST_COUNTS: join(profiles, 'requests') },
              logLevel: 'INFO',
              logFile: join(base, 'bucketlink.log'),
            }
          : {}),
      });
    },
  };
}
