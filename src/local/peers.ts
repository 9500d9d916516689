import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import S3rver from 's3rver';

/**
 * The embedded protocol peers of local mode: an S3 endpoint (s3rver) and a
 * DynamoDB endpoint (dynalite), both on loopback. Tests start the same ones.
 */

export interface S3Server {
  endpoint: string;
  /** Raw s3rver notification records (classic S3 event shape, one record each). */
  events: EventEmitter;
  /** The Koa app, for middleware that must see requests s3rver does not report (DeleteObjects). */
  app: S3rver;
  close(): Promise<void>;
}

export async function startS3Server(options: {
  directory: string;
  host?: string;
  port?: number;
}): Promise<S3Server> {
  const host = options.host ?? '127.0.0.1';
  const app = new S3rver({
    address: host,
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    // Path-style only: 127.0.0.1 cannot carry a bucket as a subdomain.
    vhostBuckets: false,
    allowMismatchedSignatures: true,
  });
  // s3rver's listen() passes its callback as a 'listening' listener and never handles the
  // server's 'error': a busy port or an unresolvable host was an uncaught exception. Here it
  // rejects run(), carrying Node's code and port.
  const s3rverListen = app.listen.bind(app);
  app.listen = (...args: unknown[]) =>
    new Promise<Server>((resolve, reject) => {
      const server = s3rverListen(...args, () => {
        server.off('error', reject);
        resolve(server);
      }) as Server;
      server.once('error', reject);
    });
  const events = new EventEmitter();
  app.on('event', (event: unknown) => events.emit('event', event));
  const address = (await app.run()) as AddressInfo;
  return {
    endpoint: `http://${host}:${address.port}`,
    events,
    app,
    close: () => app.close(),
  };
}

export interface DynamoServer {
  endpoint: string;
  close(): Promise<void>;
}

/** dynalite with tables ready at once; on disk under `directory`, in memory without one. */
export async function startDynamoServer(options: {
  directory?: string;
  host?: string;
  port?: number;
}): Promise<DynamoServer> {
  const host = options.host ?? '127.0.0.1';
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections?.();
      }),
  };
}
