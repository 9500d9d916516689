import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';

/**
 * The embedded protocol peers of local mode: an S3 endpoint (s3rver, in its
 * own process: s3/server.ts) and a DynamoDB endpoint (dynalite), both on
 * loopback. Tests start the same ones.
 */

export { S3ListenError, type S3Server, startS3Server } from './s3/server.ts';

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
