/**
 * `npm run bench [-- case ...] [--flag value ...]`: runs the named cases
 * (all but `memory` by default) against a fresh `bucketlink local` each,
 * writes `<out>/<case>.json` and regenerates the table in the README.
 * Flags may also come from the environment as BENCH_<FLAG> (BENCH_FILES=100).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exportCase, importCase } from './cases/bulk.ts';
import { latencyCase } from './cases/latency.ts';
import { memoryCase } from './cases/memory.ts';
import { noopCase } from './cases/noop.ts';
import { sustainedCase } from './cases/sustained.ts';
import { type BenchCase, type BenchParams, contextFor } from './support/context.ts';
import { machine, renderReadme, writeResult } from './support/report.ts';

const CASES: BenchCase[] = [importCase, exportCase, noopCase, latencyCase, sustainedCase, memoryCase];
const DEFAULT_CASES = ['import', 'export', 'noop', 'latency', 'sustained'];
const HERE = new URL('.', import.meta.url).pathname;

const FLAGS = {
  // One run per tool by default so the whole suite fits in 45 minutes on 2 cores; --reps 3 for min/max spread.
  reps: '1',
  seed: '1',
  files: '10000',
  'file-size': '4096',
  'large-count': '8',
  'large-size': String(128 * 1024 * 1024),
  changes: '200',
  'sustained-files': '2000',
  rates: '10,20,40,80,160,320,640',
  'memory-objects': '100000',
  'idle-hold-ms': '400',
  via: 'task',
  out: join(HERE, 'results'),
  readme: join(HERE, 'README.md'),
} as const;

function parse(argv: string[]): {
  names: string[];
  params: BenchParams;
  out: string;
  readme: string;
  keep: boolean;
} {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: 'string' as const }])),
      profile: { type: 'boolean' },
      keep: { type: 'boolean' },
    },
  });
  const get = (flag: keyof typeof FLAGS): string =>
    ((values as Record<string, unknown>)[flag] as string | undefined) ??
    process.env[`BENCH_${flag.toUpperCase().replaceAll('-', '_')}`] ??
    FLAGS[flag];
  const int = (flag: keyof typeof FLAGS) => {
    const value = Number(get(flag));
    if (!Number.isInteger(value) || value < 0)
      throw new Error(`--${flag} must be a whole number, got ${get(flag)}`);
    return value;
  };
  const names = positionals.length ? positionals : DEFAULT_CASES;
  const unknown = names.filter((name) => !CASES.some((c) => c.name === name));
  if (unknown.length)
    throw new Error(`unknown case ${unknown.join(', ')}; cases: ${CASES.map((c) => c.name).join(', ')}`);
  return {
    names,
    out: get('out'),
    readme: get('readme'),
    keep: Boolean(values.keep),
    params: {
      reps: Math.max(1, int('reps')),
      seed: int('seed'),
      files: int('files'),
      fileSize: int('file-size'),
      largeCount: int('large-count'),
      largeSize: int('large-size'),
      changes: int('changes'),
      sustainedFiles: int('sustained-files'),
      rates: get('rates').split(',').map(Number),
      memoryObjects: int('memory-objects'),
      idleHoldMs: int('idle-hold-ms'),
      via: via(get('via')),
      profile: Boolean(values.profile || process.env.BENCH_PROFILE),
    },
  };
}

// The SDK's notice about its own future Node floor is noise in a benchmark's output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
function via(value: string): BenchParams['via'] {
  if (value !== 'task' && value !== 'association')
    throw new Error(`--via must be task or association, got ${value}`);
  return value;
}

// Exit (running the children's orphan guards) when interrupted or timed out.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const argv = process.argv.slice(2);
const { names, params, out, readme, keep } = parse(argv);
const host = await machine();
const log = (message: string) =>
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

for (const name of names) {
  const benchCase = CASES.find((c) => c.name === name)!;
  const work = await mkdtemp(join(tmpdir(), `bucketlink-bench-${name}-`));
  const started = Date.now();
  const loadAtStart = loadavg()[0]!;
  log(`${name}: starting (scratch ${work})`);
  try {
    const result = await benchCase.run(contextFor(params, work, log));
    const path = await writeResult(out, {
      case: name,
      command: `npm run bench -- ${argv.join(' ')}`.trim(),
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      machine: host,
      params: { ...params },
      // Other work on the machine distorts wall times: the 1-minute load average, as the case began and ended.
      loadAverage: { start: loadAtStart, end: loadavg()[0]! },
      ...result,
    });
    log(`${name}: done in ${((Date.now() - started) / 1000).toFixed(1)} s → ${path}`);
  } finally {
    if (keep || params.profile) log(`${name}: kept ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}
await renderReadme(out, readme);
log(`tables regenerated in ${readme}`);
