import type { S3Server } from '../../../src/local/peers.ts';

/**
 * s3rver answers GET/PUT `?notification` with 501. The control function
 * turns on a bucket's EventBridge notifications on create, so this adds the
 * two requests to the test's s3rver: the configuration is kept per bucket,
 * as sent, and returned as stored (empty until the first PUT). Inserted
 * before s3rver's router, as src/local/s3-events.ts does for DeleteObjects.
 */
interface Ctx {
  method: string;
  path: string;
  querystring: string;
  req: AsyncIterable<Buffer>;
  status: number;
  body: string;
  type: string;
}

export function addNotificationConfiguration(server: S3Server): void {
  const stored = new Map<string, string>();
  const middleware = async (ctx: Ctx, next: () => Promise<void>) => {
    const bucket = ctx.path.split('/')[1] ?? '';
    if (!/(^|&)notification(=|&|$)/.test(ctx.querystring) || ctx.path.split('/').filter(Boolean).length !== 1)
      return next();
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
      ctx.body =
        stored.get(bucket) ??
        '<?xml version="1.0" encoding="UTF-8"?><NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>';
      return;
    }
    return next();
  };
  // biome-ignore lint/suspicious/noExplicitAny: s3rver's Koa middleware list.
  const app = server.app as any;
  const routerIndex = app.middleware.findIndex((fn: object) => 'router' in fn);
  app.middleware.splice(routerIndex >= 0 ? routerIndex : app.middleware.length, 0, middleware);
  // Koa composed its handler when the server started listening: install a freshly composed one.
  const http = app.httpServer;
  const handler = app.callback();
  for (const listener of http.listeners('request')) http.off('request', listener);
  http.on('request', handler);
}
