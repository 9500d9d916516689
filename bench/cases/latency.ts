import { createHash } from 'node:crypto';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import type { BenchCase } from '../support/context.ts';
import { itemBytes, writeFiles } from '../support/data.ts';
import { type BenchLocal, sleep } from '../support/local.ts';
import { millis, percentile } from '../support/report.ts';

const KINDS = ['new', 'overwrite', 'delete'] as const;
type Kind = (typeof KINDS)[number];
type Direction = 'file → object' | 'object → file';
/** How often the other side is looked at. */
const POLL_MS = 5;
const CHANGE_BYTES = 1024;
/** A change not visible on the other side after this long is counted as lost, not waited for forever. */
const GIVE_UP_MS = 5_000;

interface Sample {
  direction: Direction;
  kind: Kind;
  ms: number;
}

/**
 * Case 4: single changes, one at a time, each direction: a new file, an
 * overwrite, a delete (and the same for objects), cycling. The clock starts
 * just before the change and stops when a poll of the other side (every
 * 5 ms: HeadObject, or readFile) shows it. The next change waits until the
 * runtime is idle again, so echoes never overlap a measurement.
 */
export const latencyCase: BenchCase = {
  name: 'latency',
  async run(ctx) {
    const local = await ctx.startLocal('latency');
    const samples: Sample[] = [];
    try {
      await local.s3.send(new CreateBucketCommand({ Bucket: 'latency' }));
      // Ballast: the delete-safety budget pauses an association that deletes more than half its synced paths
      // (and over 20) in 10 minutes; this case deletes a third of its changes, so the tree must be big enough.
      await writeFiles(join(local.options.root, 'latency', 'ballast'), {
        count: ballast(ctx.params.changes),
        size: CHANGE_BYTES,
        seed: ctx.params.seed + 5,
      });
      await local.idleSince({ holdMs: ctx.params.idleHoldMs });
      const associationId = await local.createAssociation('/latency', 's3://latency/');
      await local.available(associationId);
      await local.idleSince({ holdMs: ctx.params.idleHoldMs });
      const dir = join(local.options.root, 'latency');
      await mkdir(join(dir, 'from-fs'), { recursive: true });
      await mkdir(join(dir, 'from-s3'), { recursive: true });
      await local.idleSince({ holdMs: ctx.params.idleHoldMs });
      for (const direction of ['file → object', 'object → file'] as const) {
        for (let i = 0; i < ctx.params.changes; i++) {
          const kind = KINDS[i % KINDS.length]!;
          const name = `f${Math.floor(i / KINDS.length)}.bin`;
          const bytes = itemBytes(
            { seed: ctx.params.seed + 7, size: CHANGE_BYTES },
            i + (direction === 'file → object' ? 0 : 1e6),
          );
          const ms =
            direction === 'file → object'
              ? await fileToObject(local, join(dir, 'from-fs', name), `from-fs/${name}`, kind, bytes)
              : await objectToFile(local, `from-s3/${name}`, join(dir, 'from-s3', name), kind, bytes);
          samples.push({ direction, kind, ms });
          await local.idleSince({ holdMs: ctx.params.idleHoldMs });
        }
        ctx.log(`latency ${direction}: ${ctx.params.changes} changes measured`);
      }
    } finally {
      await local.stop();
    }
    const rows: string[][] = [];
    const summary: Array<Record<string, unknown>> = [];
    for (const direction of ['file → object', 'object → file'] as const) {
      for (const kind of [...KINDS, 'all'] as const) {
        const all = samples
          .filter((s) => s.direction === direction && (kind === 'all' || s.kind === kind))
          .map((s) => s.ms);
        // A lost change (never visible within GIVE_UP_MS) is counted apart, not folded into the percentiles.
        const ms = all.filter(Number.isFinite);
        if (!ms.length) continue;
        const figures = {
          direction,
          kind,
          count: ms.length,
          lost: all.length - ms.length,
          p50Ms: percentile(ms, 50),
          p95Ms: percentile(ms, 95),
          p99Ms: percentile(ms, 99),
          maxMs: Math.max(...ms),
        };
        summary.push(figures);
        rows.push([
          direction,
          kind,
          figures.lost ? `${ms.length} (+${figures.lost} lost)` : String(ms.length),
          ...[figures.p50Ms, figures.p95Ms, figures.p99Ms, figures.maxMs].map(millis),
        ]);
      }
    }
    return {
      title: 'Case 4: event latency (one change at a time)',
      method: {
        bucketlink:
          `association \`/latency ↔ s3://latency/\`; ${CHANGE_BYTES}-byte changes; the clock runs from just before the write/unlink/PutObject/DeleteObject ` +
          `until a poll every ${POLL_MS} ms of the other side (HeadObject ETag = MD5 of the new bytes or 404; the file's bytes or ENOENT) shows it.`,
      },
      data: { summary, samples },
      table: { header: ['direction', 'change', 'n', 'p50', 'p95', 'p99', 'max'], rows },
      notes: [
        `The association also holds ${ballast(ctx.params.changes)} untouched ballast files: without them the ${Math.floor(ctx.params.changes / 3) * 2} deletes of this case trip bucketlink's delete-safety budget (more than half the synced paths, and over 20, deleted within 10 minutes pauses the association), which a first attempt did.`,
        "File changes include the watcher's quiet window (100 ms: a file is reported once it has been still that long), which a writer that is still writing needs.",
        `"lost": not visible on the other side within ${GIVE_UP_MS / 1000} s of the change (then the next change starts); kept out of the percentiles.`,
        'For scale: FSx for Lustre auto-export/import takes about 5–10 s per change; Amazon S3 Files batches exports for about 60 s. `aws s3 sync` and `rclone` have no event mode.',
      ],
    };
  },
};

/** Ballast files: four times the deletes this case makes, so they stay far below half the tree. */
function ballast(changes: number): number {
  return Math.ceil((changes * 2 * 4) / KINDS.length);
}

async function fileToObject(
  local: BenchLocal,
  path: string,
  key: string,
  kind: Kind,
  bytes: Buffer,
): Promise<number> {
  const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
  const started = performance.now();
  if (kind === 'delete') await unlink(path);
  else await writeFile(path, bytes);
  for (;;) {
    const head = await local.s3
      .send(new HeadObjectCommand({ Bucket: 'latency', Key: key }))
      .catch((error) => {
        if ((error as { name?: string }).name === 'NotFound') return undefined;
        throw error;
      });
    if (kind === 'delete' ? head === undefined : head?.ETag === etag) return performance.now() - started;
    if (performance.now() - started > GIVE_UP_MS) return Number.POSITIVE_INFINITY;
    await sleep(POLL_MS);
  }
}

async function objectToFile(
  local: BenchLocal,
  key: string,
  path: string,
  kind: Kind,
  bytes: Buffer,
): Promise<number> {
  const started = performance.now();
  if (kind === 'delete') await local.s3.send(new DeleteObjectCommand({ Bucket: 'latency', Key: key }));
  else await local.s3.send(new PutObjectCommand({ Bucket: 'latency', Key: key, Body: bytes }));
  for (;;) {
    const content = await readFile(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (kind === 'delete' ? content === undefined : content?.equals(bytes))
      return performance.now() - started;
    if (performance.now() - started > GIVE_UP_MS) return Number.POSITIVE_INFINITY;
    await sleep(POLL_MS);
  }
}
