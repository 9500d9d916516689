import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOCAL_CREDENTIALS } from '../adapters/clients.ts';
import { HostAgent } from '../agent/agent.ts';
import { findToken, TOKEN_HEADER } from '../local/control-token.ts';
import { logger } from '../log.ts';
import { checkEndpoint } from './transport.ts';

function count(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`not a count: ${value}`);
  return parsed;
}

/** `bucketlink agent`: the host agent posting file-system changes to the bucketlink bus. */
export function agentCommand(): Command {
  return new Command('agent')
    .description(
      'watch a file system (or read a Lustre changelog) and post its changes to the bucketlink bus',
    )
    .requiredOption('--root <dir>', 'file-system root (the mount point the associations are below)')
    .option('--spool <dir>', 'where unposted events are kept across restarts', './data/agent')
    .option('--bus <name>', 'EventBridge bus name', 'bucketlink')
    .addOption(
      new Option('--endpoint <url>', 'PutEvents endpoint (a running `bucketlink local`; omit for AWS)').env(
        'BUCKETLINK_EVENTS_ENDPOINT',
      ),
    )
    .option('--region <region>', 'AWS region of the bus')
    .option('--host-name <name>', 'host name carried in events', hostname())
    .option('--quiet-ms <ms>', 'a file is reported once it has been quiet this long', count, 1_000)
    .option('--scan-interval <seconds>', 'full scan period (0: only at start)', count, 600)
    .option('--spool-max-bytes <bytes>', 'spool size bound', count, 256 * 1024 * 1024)
    .option('--stats-port <port>', 'serve counters as JSON on 127.0.0.1:<port> (0 picks one)', count)
    .option('--lustre-mdt <device>', 'read this MDT’s Lustre changelog instead of inotify')
    .option('--changelog-user <id>', 'registered changelog user to clear records for', 'cl1')
    .option('--lfs <path>', 'the lfs binary', 'lfs')
    .option('--poll-ms <ms>', 'changelog poll period', count, 1_000)
    .action(async (options) => {
      if (options.endpoint) checkEndpoint(options.endpoint);
      process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
      const client = new EventBridgeClient({
        region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
        ...(options.endpoint ? { endpoint: options.endpoint, credentials: LOCAL_CREDENTIALS } : {}),
        // The agent retries from its spool with its own backoff.
        maxAttempts: 1,
        requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
      });
      // A `bucketlink local` endpoint wants its control token with every PutEvents.
      const token = options.endpoint ? await findToken(options.endpoint) : undefined;
      if (token) {
        client.middlewareStack.add(
          (next) => async (args) => {
            (args.request as { headers: Record<string, string> }).headers[TOKEN_HEADER] = token;
            return next(args);
          },
          { step: 'build', name: 'bucketlinkControlToken' },
        );
      }
      const agent = new HostAgent({
        root: resolve(options.root),
        spoolDirectory: resolve(options.spool),
        busName: options.bus,
        client,
        host: options.hostName,
        quietMs: options.quietMs,
        scanIntervalMs: options.scanInterval * 1000,
        spoolMaxBytes: options.spoolMaxBytes,
        ...(options.lustreMdt
          ? {
              lustre: {
                lfs: options.lfs,
                mdt: options.lustreMdt,
                user: options.changelogUser,
                pollMs: options.pollMs,
              },
            }
          : {}),
      });
      await agent.start();
      let statsEndpoint: string | undefined;
      if (options.statsPort !== undefined) {
        const server = createServer((_request, response) => {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end(JSON.stringify(agent.counters()));
        });
        await new Promise<void>((done) => server.listen(options.statsPort, '127.0.0.1', done));
        server.unref();
        statsEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      }
      process.stdout.write(`${JSON.stringify({ root: resolve(options.root), statsEndpoint })}\n`);
      // Logged only after the first line, which callers parse as JSON.
      const { spoolDepth } = agent.counters();
      if (spoolDepth) logger.info('agent replaying spool', { entries: spoolDepth });
      process.on('SIGUSR1', () => {
        const counters = agent.counters();
        process.stderr.write(`${JSON.stringify(counters)}\n`);
        logger.info('agent counters', { ...counters });
      });
      const stop = async () => {
        await agent.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
