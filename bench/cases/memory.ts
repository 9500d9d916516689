import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { BenchCase } from '../support/context.ts';
import { putObjects, treeSizes, verifyItems } from '../support/data.ts';
import { mib, seconds } from '../support/report.ts';

/**
 * Case 6: peak RSS of the `bucketlink local` child while it imports
 * `memoryObjects` × 4 KiB objects (case 1's bucketlink run, at a size of
 * its own; `npm run bench:memory` runs it at 100,000). The peak is reset
 * (clear_refs) after the bucket is filled, so s3rver's PUT handling is not
 * counted, only the import.
 */
export const memoryCase: BenchCase = {
  name: 'memory',
  async run(ctx) {
    const spec = { count: ctx.params.memoryObjects, size: ctx.params.fileSize, seed: ctx.params.seed };
    const local = await ctx.startLocal('memory');
    try {
      await local.s3.send(new CreateBucketCommand({ Bucket: 'memory' }));
      ctx.log(`memory: putting ${spec.count} objects`);
      const filling = performance.now();
      await putObjects(local.s3, 'memory', spec);
      ctx.log(`memory: filled in ${seconds(performance.now() - filling)}`);
      await local.idleSince({ holdMs: ctx.params.idleHoldMs });
      await local.resetPeakRss();
      const rssBefore = await local.rss();
      const started = performance.now();
      const associationId = await local.createAssociation('/memory', 's3://memory/');
      await local.available(associationId);
      const idleAt = await local.idleSince({ holdMs: ctx.params.idleHoldMs });
      const peak = await local.peakRss();
      const rssAfter = await local.rss();
      const importMs = idleAt - started;
      verifyItems(await treeSizes(join(local.options.root, 'memory')), spec, 'bucketlink import');
      const figures = {
        objects: spec.count,
        importMs,
        rssBeforeBytes: rssBefore,
        peakRssBytes: peak,
        rssAfterBytes: rssAfter,
      };
      return {
        title: `Case 6: memory of bucketlink local during a bulk import`,
        method: {
          bucketlink:
            'VmHWM of the child from /proc/<pid>/status, reset with clear_refs after the source bucket was filled; ' +
            'the import is an association created over an empty directory, done when AVAILABLE and idle.',
        },
        data: figures,
        table: {
          header: ['objects', 'import time', 'objects/s', 'RSS before', 'peak RSS', 'RSS after'],
          rows: [
            [
              String(spec.count),
              seconds(importMs),
              String(Math.round(spec.count / (importMs / 1000))),
              mib(rssBefore),
              mib(peak),
              mib(rssAfter),
            ],
          ],
        },
        notes: ['Case 1 reports the same peak for its own size beside the bucketlink row.'],
      };
    } finally {
      await local.stop();
    }
  },
};
