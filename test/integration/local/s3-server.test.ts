import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3ListenError, startS3Server } from '../../../src/local/peers.ts';
import { logger } from '../../../src/log.ts';

/** The embedded S3 server's process: start-up errors and an unexpected end reach the runtime. */
describe('the embedded S3 server process', () => {
  let directory: string;

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'bucketlink-s3-server-'));
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await rm(directory, { recursive: true, force: true });
  });

  it('rejects with S3ListenError (EADDRINUSE and the port) when its port is taken', async () => {
    const holder = createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    const { port } = holder.address() as { port: number };
    try {
      const error = await startS3Server({ directory, port }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(S3ListenError);
      expect(error).toMatchObject({ code: 'EADDRINUSE', port, address: '127.0.0.1' });
      expect((error as Error).message).toContain(`127.0.0.1:${port}`);
    } finally {
      holder.close();
    }
  });

  it('reports and logs an unexpected end of the server process', async () => {
    const server = await startS3Server({ directory });
    const errors = vi.spyOn(logger, 'error');
    const exited = once(server.events, 'exit');

    process.kill(server.pid, 'SIGKILL');

    expect(await exited).toEqual([null, 'SIGKILL']);
    expect(errors).toHaveBeenCalledWith(
      'embedded S3 server exited',
      expect.objectContaining({ signal: 'SIGKILL' }),
    );
    await server.close();
  });
});
