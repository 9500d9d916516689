import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

/**
 * S3 peers that run in their own process, as a user's own server would:
 * s3rver started on its own, and moto (S3, SQS, EventBridge, DynamoDB).
 *
 * Where moto differs from AWS (from ../shared/peers/moto/README.md; tests
 * here must not lean on these):
 * - it checks no signature: any keys pass, so bad-credential tests use s3rver;
 * - notifications are synchronous (queued before PutObject returns; AWS takes seconds);
 * - S3 → SQS records URL-encode `/` too (`dir%2Fa+b.txt`) and carry no sequencer or versionId;
 * - CompleteMultipartUpload sends an extra ObjectCreated:Put first;
 * - S3 → EventBridge: every PutObject also sends "Object Tags Added"; `id`,
 *   `sequencer` and `request-id` are constants; `reason` is ObjectCreated/ObjectRemoved;
 *   the ETag field is `eTag` (AWS: `etag`); events reach matching rules on every bus;
 * - S3 ignores the region; SQS/EventBridge/DynamoDB answer 500 to unknown regions;
 * - DynamoDB TTL never deletes.
 */

const run = promisify(execFile);
/** The moto peer's scripts: $BUCKETLINK_MOTO_DIR, else ../shared/peers/moto beside the checkout (as .ci/run), else /work/shared. */
const MOTO =
  process.env.BUCKETLINK_MOTO_DIR ??
  [new URL('../../../shared/peers/moto', import.meta.url).pathname, '/work/shared/peers/moto'].find((dir) =>
    existsSync(`${dir}/install.sh`),
  ) ??
  '/work/shared/peers/moto';

export interface ExternalPeer {
  endpoint: string;
  close(): Promise<void>;
}

/** The requests an external s3rver answered so far. */
export async function requestCounts(peer: ExternalPeer): Promise<RequestCounts> {
  return (await (await fetch(`${peer.endpoint}/_requests`)).json()) as RequestCounts;
}

/** A free loopback port (moto's start.sh wants a number, not 0). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Requests the server answered, by `METHOD bucket` or `METHOD object`; served at GET /_requests. */
export type RequestCounts = Record<string, number>;

const S3RVER_SCRIPT = `
const S3rver = require('s3rver');
const app = new S3rver({ address: '127.0.0.1', port: 0, directory: process.argv[1], silent: true,
  vhostBuckets: false, configureBuckets: (process.argv[2] || '').split(',').filter(Boolean).map((name) => ({ name })) });
const counts = {};
app.middleware.unshift(async (ctx, next) => {
  if (ctx.path === '/_requests') { ctx.body = JSON.stringify(counts); ctx.type = 'json'; return; }
  const what = ctx.method + (ctx.path.split('/').filter(Boolean).length > 1 ? ' object' : ' bucket');
  counts[what] = (counts[what] || 0) + 1;
  await next();
});
app.run().then((address) => console.log(address.port));
`;

/**
 * s3rver in a process of its own, checking signatures (access key S3RVER,
 * secret S3RVER): what `bucketlink local --s3-endpoint` meets on a user's server.
 */
export async function startExternalS3rver(buckets: string[] = []): Promise<ExternalPeer> {
  const directory = await mkdtemp(join(tmpdir(), 'bucketlink-s3rver-'));
  const child = spawn(process.execPath, ['-e', S3RVER_SCRIPT, directory, buckets.join(',')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: new URL('../..', import.meta.url).pathname,
  });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`s3rver exited ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, close: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Installs moto (offline, cached) and starts it; undefined, with a loud message, when it cannot be installed. */
export async function startMoto(): Promise<ExternalPeer | undefined> {
  try {
    await run(`${MOTO}/install.sh`, [], { timeout: 300_000 });
  } catch (error) {
    process.stderr.write(
      `\n*** moto cannot be installed: the tests that need it are SKIPPED ***\n${(error as Error).message}\n`,
    );
    return undefined;
  }
  const port = await freePort();
  const { stdout } = await run(`${MOTO}/start.sh`, [String(port)], { timeout: 60_000 });
  const pid = Number(stdout.trim().split('\n').pop());
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async close() {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    },
  };
}

/** Environment for a `bucketlink local` child that must find its credentials through the AWS chain. */
export function chainEnv(accessKeyId: string, secretAccessKey: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    AWS_REGION: 'us-east-1',
    // Keep the chain off this machine's own files and off the instance metadata service.
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/**
 * An HTTP proxy in front of a peer that calls `intercept` before forwarding
 * each request; when it returns a status code the request is answered with
 * it (no body) and never reaches the peer. For faults a server cannot
 * produce (a process dying between its work and its next request, keys
 * revoked while it runs).
 */
export async function startInterceptingProxy(
  target: string,
  intercept: (request: import('node:http').IncomingMessage) => number | false,
): Promise<ExternalPeer> {
  const { createServer: createHttpServer, request: forward } = await import('node:http');
  const upstream = new URL(target);
  const server = createHttpServer((req, res) => {
    const status = intercept(req);
    if (status) {
      res.writeHead(status).end();
      return;
    }
    const out = forward(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    out.on('error', () => res.writeHead(502).end());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Runs the real `bucketlink events setup` against a test peer (S3, SQS and EventBridge at `endpoint`). */
export async function eventsSetup(endpoint: string, ...args: string[]) {
  const { runCli } = await import('./bucketlink.ts');
  const bin = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
  return runCli(
    ['--openssl-legacy-provider', bin, 'events', 'setup', '--endpoint-url', endpoint, ...args],
    chainEnv('test', 'test'),
  );
}
