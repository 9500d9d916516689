import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { BenchCase, BenchContext } from '../support/context.ts';
import { itemBytes } from '../support/data.ts';
import { type BenchLocal, sleep } from '../support/local.ts';
import { seconds } from '../support/report.ts';

const FILE_BYTES = 4096;
const SAMPLE_MS = 100;
/** A step is bounded when its backlog grew by less than this share of the write rate over the step's second half. */
const BOUNDED_SLOPE = 0.1;

interface Step {
  rate: number;
  files: number;
  writeMs: number;
  /** Files written but not yet exported, when the last one was written. */
  backlogAtEnd: number;
  maxBacklog: number;
  /** Least-squares growth of the backlog over the second half of the writes, files/s. */
  backlogSlope: number;
  bounded: boolean;
  /** From the last write until every file was exported: the age of the backlog at the end. */
  drainMs: number;
  /** Files exported per second, first write to last export. */
  throughput: number;
  /** Files never exported (bucketlink counted a failure and went idle without them). */
  unexported: number;
}

/**
 * Case 5: `sustainedFiles` files written into an association at a steady
 * rate, then the next rate up, until the backlog (files written minus
 * exports GET /status counts) keeps growing. Reports the highest bounded
 * rate and, per step, the backlog and how long it took to drain.
 */
export const sustainedCase: BenchCase = {
  name: 'sustained',
  async run(ctx) {
    const local = await ctx.startLocal('sustained');
    const steps: Step[] = [];
    try {
      await local.s3.send(new CreateBucketCommand({ Bucket: 'sustained' }));
      const associationId = await local.createAssociation('/sustained', 's3://sustained/');
      await local.available(associationId);
      await local.idleSince({ holdMs: ctx.params.idleHoldMs });
      for (const rate of ctx.params.rates) {
        const step = await runStep(ctx, local, rate);
        steps.push(step);
        ctx.log(
          `sustained ${rate}/s: backlog at end ${step.backlogAtEnd}, slope ${step.backlogSlope.toFixed(1)}/s, drain ${seconds(step.drainMs)}`,
        );
        if (!step.bounded) break;
      }
    } finally {
      await local.stop();
    }
    const bounded = steps.filter((s) => s.bounded).map((s) => s.rate);
    const best = bounded.length ? Math.max(...bounded) : 0;
    return {
      title: 'Case 5: sustained auto-export',
      method: {
        bucketlink:
          `${ctx.params.sustainedFiles} files of ${FILE_BYTES} bytes per step written at a steady rate into \`/sustained ↔ s3://sustained/\`; ` +
          `backlog = files written − exports counted by GET /status, sampled every ${SAMPLE_MS} ms. A step is bounded when the backlog's ` +
          `least-squares slope over the second half of the writes is under ${BOUNDED_SLOPE * 100}% of the write rate; stepping stops at the first unbounded rate.`,
      },
      data: { highestBoundedRate: best, steps },
      table: {
        header: [
          'rate (files/s)',
          'backlog at end',
          'max backlog',
          'backlog growth',
          'bounded',
          'drain after last write',
          'throughput',
        ],
        rows: steps.map((s) => [
          String(s.rate),
          String(s.backlogAtEnd),
          String(s.maxBacklog),
          `${s.backlogSlope.toFixed(1)} files/s`,
          (s.bounded ? 'yes' : 'no') + (s.unexported ? ` (**${s.unexported} never exported**)` : ''),
          seconds(s.drainMs),
          `${Math.round(s.throughput)} files/s`,
        ]),
      },
      notes: [
        `Highest rate with a bounded backlog: **${best ? `${best} files/s` : 'none of the rates tried'}**${best === Math.max(...ctx.params.rates) ? ' (the highest rate tried: the ceiling is above it)' : ''}.`,
        'For scale: FSx for Lustre auto-export clears about 200–550 objects/s.',
      ],
    };
  },
};

async function runStep(ctx: BenchContext, local: BenchLocal, rate: number): Promise<Step> {
  const files = ctx.params.sustainedFiles;
  const dir = join(local.options.root, 'sustained', `rate-${rate}`);
  await mkdir(dir, { recursive: true });
  await local.idleSince({ holdMs: ctx.params.idleHoldMs });
  const exportsAtStart = (await local.status()).transfers.exports;
  let written = 0;
  let writing = true;
  const samples: Array<{ at: number; backlog: number }> = [];
  const started = performance.now();
  const sampler = (async () => {
    while (writing) {
      const exported = (await local.status()).transfers.exports - exportsAtStart;
      samples.push({ at: performance.now() - started, backlog: written - exported });
      await sleep(SAMPLE_MS);
    }
  })();
  // Paced by schedule, not by sleeps between writes: a late write is followed by a catch-up, keeping the mean rate.
  while (written < files) {
    const due = Math.min(files, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    while (written < due) {
      await writeFile(
        join(dir, `f${String(written).padStart(6, '0')}.bin`),
        itemBytes({ seed: ctx.params.seed + 9, size: FILE_BYTES }, written),
      );
      written++;
    }
    await sleep(Math.max(1, Math.floor(1000 / rate)));
  }
  const writeMs = performance.now() - started;
  writing = false;
  await sampler;
  const backlogAtEnd = written - ((await local.status()).transfers.exports - exportsAtStart);
  const lastWrite = performance.now();
  // Done when every file was exported, or, if some never are (a failure), when the runtime is idle with them missing.
  let unexported = 0;
  for (;;) {
    const status = await local.status();
    unexported = files - (status.transfers.exports - exportsAtStart);
    if (unexported <= 0) break;
    if (status.idle && status.failed) break;
    await sleep(20);
  }
  const drained = performance.now();
  const secondHalf = samples.filter((s) => s.at >= writeMs / 2);
  const backlogSlope = slope(secondHalf.map((s) => [s.at / 1000, s.backlog]));
  return {
    rate,
    files,
    writeMs,
    backlogAtEnd,
    maxBacklog: Math.max(backlogAtEnd, ...samples.map((s) => s.backlog)),
    backlogSlope,
    bounded: backlogSlope < BOUNDED_SLOPE * rate,
    drainMs: drained - lastWrite,
    throughput: files / ((drained - started) / 1000),
    unexported: Math.max(0, unexported),
  };
}

/** Least-squares slope of y over x; 0 with fewer than two points. */
function slope(points: Array<[number, number]>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  return sxx ? sxy / sxx : 0;
}
