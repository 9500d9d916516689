import { AsyncLocalStorage } from 'node:async_hooks';
import { createCipheriv } from 'node:crypto';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import S3rver from 's3rver';
import { logger } from '../../log.ts';
import { tolerateConcurrentDeleteCleanup } from './delete-cleanup.ts';
import { attachDeleteObjectsRecords } from './delete-objects.ts';
import { attachNotificationConfiguration } from './notification-configuration.ts';
import type {
  ChildMessage,
  ChildOptions,
  ParentMessage,
  S3rverNotification,
  S3rverRecord,
} from './protocol.ts';
import { attachUploadIntegrity } from './upload-integrity.ts';

/**
 * The embedded S3 server process: s3rver on loopback, its notifications and
 * the DeleteObjects records sent to the parent over IPC. It runs apart from
 * the pipeline so S3 requests and sync work do not share one event loop, and
 * with the `--openssl-legacy-provider` its listing continuation tokens (DES)
 * need, which server.ts passes so no user has to.
 *
 * The parent owns its lifetime: it ends on a `close` message or when the IPC
 * channel goes (the parent exited or was killed), and ignores SIGINT/SIGTERM,
 * which a terminal or process manager sends to the whole group, so the
 * parent can drain its pipeline against a live endpoint first.
 */

const options = JSON.parse(process.argv[2] ?? '{}') as ChildOptions;

// A Node whose OpenSSL lacks the legacy provider (a distribution build on a system OpenSSL
// without legacy.so) cannot make s3rver's tokens: say so once, rather than only InternalError later.
try {
  createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
} catch (error) {
  logger.error('embedded S3: this Node has no DES cipher, so listings past one page will fail', {
    action: 's3Server',
    error: error as Error,
  });
}

function send(message: ChildMessage, done?: () => void): void {
  if (process.connected) process.send?.(message, undefined, {}, done);
  else done?.();
}

// An S3 response goes out only once the parent holds the events the request
// caused, so bucketlink never looks idle between a write and its event.
let sent = 0;
let acked = 0;
const waiting: Array<{ seq: number; resolve: () => void }> = [];

/** The request being handled, so only a request that caused events waits for their ack. */
const request = new AsyncLocalStorage<{ seq: number }>();

function sendRecords(records: S3rverRecord[], reason?: 'DeleteObjects'): void {
  sent++;
  const current = request.getStore();
  if (current) current.seq = sent;
  send({ type: 'records', seq: sent, records, ...(reason ? { reason } : {}) });
}

function whenAcked(seq: number): Promise<void> {
  if (acked >= seq || !process.connected) return Promise.resolve();
  return new Promise((resolve) => waiting.push({ seq, resolve }));
}

const app = new S3rver({
  address: options.host,
  port: options.port,
  directory: options.directory,
  silent: true,
  // Path-style only: 127.0.0.1 cannot carry a bucket as a subdomain.
  vhostBuckets: false,
  allowMismatchedSignatures: true,
});
app.middleware.unshift(async (_ctx, next) => {
  const current = { seq: 0 };
  await request.run(current, next);
  if (current.seq) await whenAcked(current.seq);
});
app.on('event', (notification: S3rverNotification) => sendRecords(notification.Records));
attachDeleteObjectsRecords(app, (records) => sendRecords(records, 'DeleteObjects'));
attachNotificationConfiguration(app);
tolerateConcurrentDeleteCleanup(app);
const integrity = await attachUploadIntegrity(app);

// s3rver's own run() lets a listen error escape as an unhandled 'error' event; listen here instead.
const server = createServer((app as unknown as { callback(): RequestListener }).callback());
app.httpServer = server;

let closing = false;
function shutdown(code = 0): void {
  if (closing) return;
  closing = true;
  for (const { resolve } of waiting.splice(0)) resolve();
  server.close(() => void integrity.close().finally(() => process.exit(code)));
  server.closeAllConnections();
  // Connections mid-request get a moment, not forever.
  setTimeout(() => process.exit(code), 2_000).unref();
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'close') return shutdown();
  acked = Math.max(acked, message.seq);
  for (let i = waiting.length - 1; i >= 0; i--) {
    if (waiting[i]!.seq <= acked) waiting.splice(i, 1)[0]!.resolve();
  }
});
process.on('disconnect', () => shutdown());
if (process.connected) {
  process.on('SIGINT', () => {});
  process.on('SIGTERM', () => {});
}

server.once('error', (error: NodeJS.ErrnoException) => {
  send(
    {
      type: 'listen-error',
      code: error.code ?? 'UNKNOWN',
      message: error.message,
      address: options.host,
      port: options.port,
    },
    () => process.exit(1),
  );
});
server.listen(options.port, options.host, () => {
  send({ type: 'listening', port: (server.address() as AddressInfo).port });
});
