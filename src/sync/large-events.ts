import { z } from 'zod';
import type { ApplyResult } from '../core/types.ts';
import {
  abortLarge,
  commitLarge,
  type LargeDeps,
  type PartDone,
  type Prepared,
  prepareLarge,
  type Transfer,
  transferPart,
} from './large.ts';

/**
 * The payloads statemachines/large-transfer.asl.json sends its function, one
 * per step (`action`), validated before anything touches S3 or the mount.
 */

const count = z.number().int().nonnegative();

const transfer = z
  .object({
    transferId: z.string().min(1),
    associationId: z.string().min(1),
    path: z.string().min(1),
    direction: z.enum(['import', 'export']),
    lease: z.object({ owner: z.string().min(1), rev: count, wanted: count }).passthrough(),
    root: z.string().min(1),
    bucket: z.string().min(1),
    key: z.string().min(1),
    size: count,
    fs: z.record(z.string(), z.unknown()).optional(),
    s3: z
      .object({ key: z.string(), etag: z.string().min(1) })
      .passthrough()
      .optional(),
    uploadId: z.string().min(1).optional(),
    tempName: z.string().min(1).optional(),
  })
  .refine((t) => (t.direction === 'export' ? t.fs && t.uploadId : t.s3 && t.tempName), {
    message: 'an export needs fs and uploadId, an import s3 and tempName',
  });

const range = z.object({ partNumber: z.number().int().min(1), start: count, end: z.number().int().min(-1) });

export const largeEvent = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('prepare'),
    transferId: z.string().min(1),
    associationId: z.string().min(1),
    path: z.string().min(1),
    partSize: z.number().int().positive(),
    maxConcurrency: z.number().int().positive(),
  }),
  z.object({ action: z.literal('part'), transfer, range }),
  z.object({
    action: z.literal('commit'),
    transfer,
    parts: z.array(z.object({ partNumber: z.number().int().min(1), etag: z.string().optional() })),
  }),
  z.object({
    action: z.literal('abort'),
    transfer,
    error: z.object({ Error: z.string(), Cause: z.string().optional() }).passthrough().optional(),
  }),
]);

export type LargeEvent = z.output<typeof largeEvent>;

export async function runLargeStep(
  event: LargeEvent,
  deps: LargeDeps,
): Promise<Prepared | PartDone | ApplyResult | { aborted: true }> {
  switch (event.action) {
    case 'prepare':
      return prepareLarge(event, deps);
    case 'part':
      return transferPart(event.transfer as unknown as Transfer, event.range, deps);
    case 'commit':
      return commitLarge(event.transfer as unknown as Transfer, event.parts, deps);
    case 'abort':
      return abortLarge(event.transfer as unknown as Transfer, event.error, deps);
  }
}
