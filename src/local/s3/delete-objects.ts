import { randomBytes } from 'node:crypto';
import type S3rver from 's3rver';
import type { S3rverRecord } from './protocol.ts';

/** A Koa context, as much of it as the DeleteObjects hook reads. */
interface DeleteContext {
  method: string;
  query: Record<string, unknown>;
  params?: { bucket?: string };
  ip?: string;
  body?: unknown;
}

function deletedKeys(body: unknown): string[] {
  const result = (body as { DeleteResult?: { Deleted?: unknown } } | undefined)?.DeleteResult;
  if (!result?.Deleted) return [];
  const deleted = ([] as unknown[]).concat(result.Deleted);
  return deleted
    .map((entry) => (entry as { Key?: unknown }).Key)
    .filter((key): key is string => typeof key === 'string' && key.length > 0);
}

let lastSequencer = 0n;

/** Like s3rver's (a hex timestamp), but strictly increasing within this process. */
function sequencerNow(): string {
  const now = BigInt(Date.now());
  lastSequencer = now > lastSequencer ? now : lastSequencer + 1n;
  return lastSequencer.toString(16).toUpperCase();
}

/**
 * s3rver emits nothing for a multi-object delete (`POST /bucket?delete`,
 * what `aws s3 rm --recursive` sends), so this middleware reads the keys
 * s3rver reports as deleted and hands `emit` one `ObjectRemoved:Delete`
 * record per key, all with the request's one request id, as AWS reports a
 * batch. It sits just before s3rver's router, inside its XML encoder, so the
 * result is still a plain object when `next()` returns. Install it before
 * `run()`: Koa composes its middleware when the server starts listening.
 */
export function attachDeleteObjectsRecords(app: S3rver, emit: (records: S3rverRecord[]) => void): void {
  const middleware = async (ctx: DeleteContext, next: () => Promise<void>) => {
    await next();
    if (ctx.method !== 'POST' || !('delete' in ctx.query) || !ctx.params?.bucket) return;
    const bucket = ctx.params.bucket;
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const eventTime = new Date().toISOString();
    const records = deletedKeys(ctx.body).map(
      (key): S3rverRecord => ({
        eventName: 'ObjectRemoved:Delete',
        eventTime,
        requestParameters: { sourceIPAddress: ctx.ip ?? '127.0.0.1' },
        responseElements: { 'x-amz-request-id': requestId },
        s3: { bucket: { name: bucket }, object: { key, sequencer: sequencerNow() } },
      }),
    );
    if (records.length) emit(records);
  };
  const routerIndex = app.middleware.findIndex((fn) => 'router' in fn);
  app.middleware.splice(routerIndex >= 0 ? routerIndex : app.middleware.length, 0, middleware);
}
