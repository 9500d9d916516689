import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  type BenchCase,
  type BenchContext,
  type BenchParams,
  type CaseOutput,
  describeSpec,
  largeSpec,
  smallSpec,
} from '../support/context.ts';
import {
  bucketSizes,
  type DataSpec,
  missingItems,
  putObjects,
  treeSizes,
  verifyItems,
  writeFiles,
} from '../support/data.ts';
import { type BenchLocal, type BenchStatus, requestsPerItem } from '../support/local.ts';
import { mib, seconds, type Table, type Timing, timing } from '../support/report.ts';
import {
  awsSync,
  FLOOR_CONCURRENCY,
  lastPeerCpuMs,
  rcloneSync,
  sdkDownload,
  sdkUpload,
} from '../support/tools.ts';

type Direction = 'import' | 'export';
const TOOLS = ['bucketlink', 'aws s3 sync', 'rclone sync', `SDK floor (${FLOOR_CONCURRENCY} in flight)`];

interface Workload {
  label: string;
  items: number;
  bytes: number;
  tools: Record<string, Timing>;
  /** CPU ms per run: the tool's own (GNU time, or this process for the SDK floor) plus the bucketlink child's (s3rver, and for bucketlink everything). */
  cpu: Record<string, Timing>;
  /** Peak RSS of the bucketlink child per run (VmHWM, reset before each run). */
  bucketlinkPeakRssBytes: number[];
  /** GET /status counters moved by each bucketlink run: events seen (its own file writes come back as fs events), echoes, unchanged. */
  bucketlinkWork: Array<Record<string, number>>;
  /** Per bucketlink run: items missing afterwards, the task's failedCount, GET /status failures. */
  bucketlinkIncomplete: Array<{ missing: number; taskFailed: number; failed: number; problems: unknown[] }>;
  /** Under --profile: HTTP requests bucketlink's embedded servers answered per item, by kind. */
  bucketlinkRequestsPerItem?: Array<Record<string, number> | undefined>;
}

function counters(status: BenchStatus): Record<string, number> {
  return {
    s3Events: status.events.s3,
    fsEvents: status.events.fs,
    transfers: status.transfers.total,
    unchanged: status.unchanged,
    recorded: status.recorded,
    echoesDropped: status.echoesDropped,
  };
}

/**
 * Case 1 (import) and 2 (export): one data set moved into an empty side by
 * each tool against the same s3rver, `reps` times, each run into a fresh
 * directory or bucket. Every run is verified (all items, right sizes).
 */
function bulkCase(direction: Direction): BenchCase {
  return {
    name: direction,
    async run(ctx) {
      const local = await ctx.startLocal(direction);
      try {
        const workloads: Workload[] = [];
        for (const spec of [smallSpec(ctx.params), largeSpec(ctx.params)]) {
          if (spec.count === 0) continue;
          const label = spec.size > 1024 * 1024 ? 'large' : 'small';
          workloads.push(await measure(ctx, local, direction, spec, label));
        }
        return output(direction, workloads, ctx.params.via);
      } finally {
        await local.stop();
      }
    },
  };
}

export const importCase = bulkCase('import');
export const exportCase = bulkCase('export');

async function measure(
  ctx: BenchContext,
  local: BenchLocal,
  direction: Direction,
  spec: DataSpec,
  label: string,
): Promise<Workload> {
  const createBucket = (name: string) => local.s3.send(new CreateBucketCommand({ Bucket: name }));
  const runs: Record<string, number[]> = Object.fromEntries(TOOLS.map((tool) => [tool, []]));
  const peaks: number[] = [];
  const work: Array<Record<string, number>> = [];
  const incomplete: Workload['bucketlinkIncomplete'] = [];
  const requests: Array<Record<string, number> | undefined> = [];
  const cpu: Record<string, number[]> = Object.fromEntries(TOOLS.map((tool) => [tool, []]));
  // The source: a bucket (import), or a directory under bucketlink's root plus a copy outside it for the peers (export).
  const sourceBucket = `${direction}-${label}-source`;
  const sourceTree = `/${direction}-${label}`;
  const peerSource = join(ctx.work, `${direction}-${label}-source`);
  ctx.log(`${direction} ${describeSpec(spec)}: generating`);
  if (direction === 'import') {
    await createBucket(sourceBucket);
    await putObjects(local.s3, sourceBucket, spec);
  } else {
    await writeFiles(join(local.options.root, sourceTree), spec);
    await writeFiles(peerSource, spec);
  }
  await local.idleSince({ holdMs: ctx.params.idleHoldMs });

  for (let rep = 1; rep <= ctx.params.reps; rep++) {
    const timed = async (tool: string, work: () => Promise<void>) => {
      const serverCpu = await local.cpuMs();
      const ownCpu = process.cpuUsage();
      const started = performance.now();
      await work();
      const ms = performance.now() - started;
      const own = process.cpuUsage(ownCpu);
      // A CLI peer's CPU comes from GNU time; the SDK floor runs in this process.
      const toolCpu = tool.startsWith('SDK') ? (own.user + own.system) / 1000 : lastPeerCpuMs;
      runs[tool]!.push(ms);
      cpu[tool]!.push(toolCpu + (await local.cpuMs()) - serverCpu);
      ctx.log(`${direction} ${describeSpec(spec)} run ${rep}: ${tool} ${seconds(ms)}`);
    };
    // bucketlink: an association whose creation-time sync moves everything; done when AVAILABLE and idle.
    const fsPath = direction === 'import' ? `/${direction}-${label}-r${rep}` : sourceTree;
    const bucket = direction === 'import' ? sourceBucket : `${direction}-${label}-bucketlink-r${rep}`;
    if (direction === 'export') await createBucket(bucket);
    // Under --profile the child is restarted around this run, so one .cpuprofile holds only startup + this run.
    if (ctx.params.profile) await restart(local);
    await local.resetPeakRss();
    const requestsBefore = await local.requestCounts();
    const cpuBefore = await local.cpuMs();
    const countersBefore = counters(await local.status());
    let started = performance.now();
    const viaTask = ctx.params.via === 'task';
    const associationId = await local.createAssociation(fsPath, `s3://${bucket}/`, !viaTask);
    await local.available(associationId);
    let taskFailed = 0;
    if (viaTask) {
      started = performance.now();
      const task = await local.runTask(
        direction === 'import' ? 'IMPORT_METADATA_FROM_REPOSITORY' : 'EXPORT_TO_REPOSITORY',
        associationId,
      );
      taskFailed = task.failedCount;
    }
    const idleAt = await local.idleSince({ holdMs: ctx.params.idleHoldMs });
    runs.bucketlink!.push(idleAt - started);
    peaks.push(await local.peakRss());
    cpu.bucketlink!.push((await local.cpuMs()) - cpuBefore);
    ctx.log(`${direction} ${describeSpec(spec)} run ${rep}: bucketlink ${seconds(idleAt - started)}`);
    const status = await local.status();
    const countersAfter = counters(status);
    work.push(Object.fromEntries(Object.entries(countersAfter).map(([k, v]) => [k, v - countersBefore[k]!])));
    requests.push(requestsPerItem(requestsBefore, await local.requestCounts(), spec.count));
    // bucketlink's failures are a finding, not a crash of the benchmark: recorded per run, and the table says so.
    const missing = missingItems(
      direction === 'import'
        ? await treeSizes(join(local.options.root, fsPath))
        : await bucketSizes(local.s3, bucket),
      spec,
    );
    incomplete.push({ missing, taskFailed, failed: status.failed, problems: status.problems.slice(-5) });
    if (missing) ctx.log(`${direction} run ${rep}: bucketlink left ${missing} items missing`);
    await local.deleteAssociation(associationId);
    if (ctx.params.profile) await restart(local);
    if (direction === 'import') {
      await rm(join(local.options.root, fsPath), { recursive: true, force: true });
      await local.idleSince({ holdMs: ctx.params.idleHoldMs });
    }

    // The peers: same server, directories outside bucketlink's root, buckets no association names.
    const peers: Array<[string, (to: string) => Promise<void>]> = [
      ['aws s3 sync', (to) => peer(direction, local.s3Endpoint, to, sourceBucket, peerSource, awsSync)],
      ['rclone sync', (to) => peer(direction, local.s3Endpoint, to, sourceBucket, peerSource, rcloneSync)],
      [
        TOOLS[3]!,
        (to) =>
          direction === 'import'
            ? sdkDownload(local.s3, sourceBucket, to)
            : sdkUpload(local.s3, peerSource, to),
      ],
    ];
    for (const [tool, sync] of peers) {
      const slug = tool.split(' ')[0]!.toLowerCase();
      const target =
        direction === 'import' ? join(ctx.work, `${slug}-r${rep}`) : `${direction}-${label}-${slug}-r${rep}`;
      if (direction === 'export') await createBucket(target);
      await timed(tool, () => sync(target));
      verifyItems(
        direction === 'import' ? await treeSizes(target) : await bucketSizes(local.s3, target),
        spec,
        `${tool} ${direction}`,
      );
      if (direction === 'import') await rm(target, { recursive: true, force: true });
    }
  }
  return {
    label: describeSpec(spec),
    items: spec.count,
    bytes: spec.count * spec.size,
    tools: Object.fromEntries(TOOLS.map((tool) => [tool, timing(runs[tool]!)])),
    cpu: Object.fromEntries(TOOLS.map((tool) => [tool, timing(cpu[tool]!)])),
    bucketlinkPeakRssBytes: peaks,
    bucketlinkWork: work,
    bucketlinkIncomplete: incomplete,
    ...(ctx.params.profile ? { bucketlinkRequestsPerItem: requests } : {}),
  };
}

async function restart(local: BenchLocal): Promise<void> {
  await local.stop();
  await local.spawn();
  await local.idleSince();
}

function peer(
  direction: Direction,
  endpoint: string,
  target: string,
  sourceBucket: string,
  peerSource: string,
  sync: typeof awsSync,
): Promise<void> {
  return direction === 'import'
    ? sync(endpoint, { bucket: sourceBucket }, { dir: target })
    : sync(endpoint, { dir: peerSource }, { bucket: target });
}

function output(direction: Direction, workloads: Workload[], via: BenchParams['via']): CaseOutput {
  const table: Table = {
    header: [
      'workload',
      'tool',
      'median',
      'min',
      'max',
      'objects/s',
      '× bucketlink time',
      'CPU (tool + server)',
    ],
    rows: [],
  };
  for (const w of workloads) {
    const base = w.tools.bucketlink!.medianMs;
    for (const [tool, t] of Object.entries(w.tools)) {
      const missing = w.bucketlinkIncomplete.reduce((sum, run) => sum + run.missing, 0);
      const rss =
        tool === 'bucketlink'
          ? ` (peak RSS ${mib(Math.max(...w.bucketlinkPeakRssBytes))}${missing ? `; **${missing} items missing** over ${w.bucketlinkIncomplete.length} runs` : ''})`
          : '';
      table.rows.push([
        w.label,
        tool + rss,
        seconds(t.medianMs),
        seconds(t.minMs),
        seconds(t.maxMs),
        String(Math.round(w.items / (t.medianMs / 1000))),
        (t.medianMs / base).toFixed(2),
        seconds(w.cpu[tool]!.medianMs),
      ]);
    }
  }
  const into = direction === 'import' ? 'an empty directory' : 'an empty bucket';
  return {
    title: direction === 'import' ? 'Case 1: bulk import' : 'Case 2: bulk export',
    method: {
      bucketlink:
        via === 'task'
          ? `an association over ${into} created without its creation-time sync, then an ` +
            `\`${direction === 'import' ? 'IMPORT_METADATA_FROM_REPOSITORY' : 'EXPORT_TO_REPOSITORY'}\` repository task. ` +
            'Clock: from `createTask` to the task SUCCEEDED and GET /status idle (polled every 20 ms; the idle hold-down is not counted).'
          : `\`createAssociation\` over ${into}; the creation-time sync (batchImportMetaDataOnCreate) moves everything. ` +
            'Clock: from the control request to the association AVAILABLE and GET /status idle (the idle hold-down is not counted).',
      'aws s3 sync': `\`/usr/bin/aws s3 sync --delete\` into ${into}, CLI defaults (10 concurrent requests).`,
      'rclone sync': `\`/usr/bin/rclone sync\` into ${into}, defaults (4 transfers, 8 checkers).`,
      'SDK floor': `list + ${direction === 'import' ? 'GetObject → file' : 'walk + PutObject'}, ${FLOOR_CONCURRENCY} in flight (bucketlink's apply concurrency), @aws-sdk/client-s3 as bucketlink configures it.`,
    },
    data: workloads,
    table,
    notes: [
      '"× bucketlink time" is each tool\'s median over bucketlink\'s: below 1 is faster than bucketlink.',
      'Every run is verified (every item present with its size) before it counts.',
      '"CPU (tool + server)": CPU seconds of the tool\'s process (GNU time; the benchmark process for the SDK floor) plus those of the `bucketlink local` child during the run, which serves S3 for everyone — for bucketlink, its whole pipeline. It stays meaningful on a busy machine, where wall time does not.',
    ],
  };
}
