import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseResult } from '../../bench/support/report.ts';

const run = promisify(execFile);
const RUNNER = new URL('../../bench/run.ts', import.meta.url).pathname;
const CASES = ['import', 'export', 'noop', 'latency', 'sustained', 'memory'];

/**
 * Every benchmark case at a tiny size through the real runner (`npm run
 * bench` minus npm), so the runner cannot rot. It checks that each case ran
 * every tool, verified its data and wrote its figures; never what they are.
 */
describe('the benchmark runner at a tiny size', () => {
  let base: string;
  const results = new Map<string, CaseResult>();
  let readme = '';

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'bucketlink-bench-smoke-'));
    const args = [
      '--import',
      'tsx',
      RUNNER,
      ...CASES,
      ...['--reps', '1', '--files', '12', '--file-size', '512', '--large-count', '0'],
      ...['--changes', '3', '--sustained-files', '10', '--rates', '100', '--memory-objects', '12'],
      ...['--idle-hold-ms', '250', '--out', join(base, 'results'), '--readme', join(base, 'README.md')],
    ];
    await run(process.execPath, args, { cwd: new URL('../..', import.meta.url).pathname, timeout: 290_000 });
    for (const name of CASES) {
      results.set(name, JSON.parse(await readFile(join(base, 'results', `${name}.json`), 'utf8')));
    }
    readme = await readFile(join(base, 'README.md'), 'utf8');
  }, 300_000);

  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('times bucketlink and every peer on the same workload for imports and exports', () => {
    for (const name of ['import', 'export']) {
      const [workload] = results.get(name)!.data as Array<{
        items: number;
        tools: Record<string, { runsMs: number[] }>;
      }>;
      expect(workload!.items).toBe(12);
      expect(Object.keys(workload!.tools)).toEqual([
        'bucketlink',
        'aws s3 sync',
        'rclone sync',
        'SDK floor (8 in flight)',
      ]);
      for (const timing of Object.values(workload!.tools)) expect(timing.runsMs).toHaveLength(1);
    }
  });

  it('times a no-op restart and the peers’ second sync', () => {
    const data = results.get('noop')!.data as { timings: Record<string, { runsMs: number[] }> };
    expect(Object.keys(data.timings)).toEqual([
      'bucketlink RECONCILE task',
      'bucketlink restart → idle',
      'aws s3 sync',
      'rclone sync',
      'SDK floor',
    ]);
  });

  it('measures one sample per change in each direction', () => {
    const data = results.get('latency')!.data as { samples: Array<{ direction: string; kind: string }> };
    expect(data.samples.map((s) => `${s.direction}:${s.kind}`)).toEqual([
      'file → object:new',
      'file → object:overwrite',
      'file → object:delete',
      'object → file:new',
      'object → file:overwrite',
      'object → file:delete',
    ]);
  });

  it('exports every file of a sustained step and reads the child’s peak memory', () => {
    const sustained = results.get('sustained')!.data as { steps: Array<{ files: number; rate: number }> };
    expect(sustained.steps[0]).toMatchObject({ files: 10, rate: 100 });
    const memory = results.get('memory')!.data as {
      objects: number;
      peakRssBytes: number;
      rssBeforeBytes: number;
    };
    expect(memory.objects).toBe(12);
    expect(memory.peakRssBytes).toBeGreaterThanOrEqual(memory.rssBeforeBytes);
  });

  it('regenerates one README section per case with the command that produced it', () => {
    for (const result of results.values()) {
      expect(readme).toContain(`### ${result.title}`);
      expect(result.command).toContain('--files 12');
      expect(result.machine.tools.aws).toMatch(/^aws-cli\//);
    }
  });
});
