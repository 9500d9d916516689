import type S3rver from 's3rver';

/** A Koa context, as much of it as the hook reads and writes. */
interface NotificationContext {
  method: string;
  path: string;
  querystring: string;
  req: AsyncIterable<Buffer>;
  status: number;
  body: string;
  type: string;
}

const EMPTY =
  '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>';

/**
 * s3rver answers GET/PUT `?notification` with 501. Creating an association
 * turns on a bucket's EventBridge notifications the way it must on AWS (read
 * the configuration, add EventBridge, write it back), so the embedded
 * endpoint keeps each bucket's configuration as sent and returns it as
 * stored (empty until the first PUT), like S3. It does not act on it: the
 * embedded endpoint sends every event to bucketlink anyway. Inserted before
 * s3rver's router, like the DeleteObjects hook.
 */
export function attachNotificationConfiguration(app: S3rver): void {
  const stored = new Map<string, string>();
  const middleware = async (ctx: NotificationContext, next: () => Promise<void>) => {
    const segments = ctx.path.split('/').filter(Boolean);
    if (!/(^|&)notification(=|&|$)/.test(ctx.querystring) || segments.length !== 1) return next();
    const bucket = segments[0]!;
    if (ctx.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      stored.set(bucket, Buffer.concat(chunks).toString('utf8'));
      ctx.status = 200;
      ctx.body = '';
      return;
    }
    if (ctx.method === 'GET') {
      ctx.type = 'application/xml';
      ctx.body = stored.get(bucket) ?? EMPTY;
      return;
    }
    return next();
  };
  // biome-ignore lint/suspicious/noExplicitAny: s3rver's Koa middleware list.
  const middlewareList = (app as any).middleware as Array<object>;
  const routerIndex = middlewareList.findIndex((fn) => 'router' in fn);
  middlewareList.splice(routerIndex >= 0 ? routerIndex : middlewareList.length, 0, middleware);
}
