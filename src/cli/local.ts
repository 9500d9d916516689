import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { Command, Option } from 'commander';
import { createS3Client } from '../adapters/clients.ts';
import { startLocalRuntime } from '../local/runtime.ts';
import { logger } from '../log.ts';

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'debug', 'info', 'warn', 'error', 'silent'];

import { ControlClient } from './transport.ts';

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) throw new Error(`not a port: ${value}`);
  return parsed;
}

function byteCount(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new Error(`not a byte count: ${value}`);
  return parsed;
}

/** `bucketlink local`: the embedded single-machine runtime. */
export function localCommand(): Command {
  return new Command('local')
    .description('run the whole pipeline on this machine against embedded S3 and DynamoDB endpoints')
    .option('--root <dir>', 'file-system root (associations live below it)', './data/fs')
    .option('--state <dir>', 'where the embedded S3 and DynamoDB keep their data', './data/state')
    .option(
      '--host <address>',
      'address to listen on. Beyond loopback (e.g. 0.0.0.0) the network reaches the embedded S3 endpoint, ' +
        'which accepts any signature (anyone can read and write every bucket), and the control API, ' +
        'which wants the token in <state>/control-token',
      '127.0.0.1',
    )
    .option('--s3-port <port>', 'S3 endpoint port (0 picks a free one)', port, 4566)
    .option('--control-port <port>', 'control API port (0 picks a free one)', port, 4567)
    .option(
      '--large-file-bytes <bytes>',
      'files and objects above this size take the large-file path (ranges in parallel)',
      byteCount,
      1024 ** 3,
    )
    .addOption(
      new Option(
        '--log-level <level>',
        'DEBUG logs every file; INFO (default) one line per batch and problems',
      )
        .choices(LOG_LEVELS)
        .env('BUCKETLINK_LOG_LEVEL'),
    )
    .addOption(
      new Option('--demo', 'create a `demo` bucket and a /demo ↔ s3://demo/ association').hideHelp(false),
    )
    .action(async (options) => {
      // The logger was built at import time (POWERTOOLS_LOG_LEVEL, else INFO); the flag wins.
      if (options.logLevel) logger.setLogLevel(options.logLevel.toUpperCase());
      const runtime = await startLocalRuntime({
        root: options.root,
        state: options.state,
        host: options.host,
        s3Port: options.s3Port,
        controlPort: options.controlPort,
        largeFileBytes: options.largeFileBytes,
      });
      if (options.demo) await setUpDemo(runtime.s3Endpoint, runtime.controlEndpoint, runtime.controlToken);
      process.stdout.write(
        `${JSON.stringify({ root: runtime.root, s3Endpoint: runtime.s3Endpoint, controlEndpoint: runtime.controlEndpoint })}\n`,
      );
      if (options.demo) {
        process.stderr.write(
          [
            'bucketlink is running.',
            `  files:   ${runtime.root}/demo`,
            `  objects: s3://demo/ at ${runtime.s3Endpoint} (access key S3RVER, secret S3RVER)`,
            `  try:     echo hello > ${runtime.root}/demo/hello.txt`,
            `           AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url ${runtime.s3Endpoint} s3 ls s3://demo/`,
            `  status:  bucketlink status --watch, or the page at ${runtime.controlEndpoint}/ (bucketlink status --login-url signs a browser in)`,
            '  Ctrl-C stops it; state survives restarts.',
            '',
          ].join('\n'),
        );
      }
      const stop = async () => {
        await runtime.close();
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

async function setUpDemo(s3Endpoint: string, controlEndpoint: string, token: string): Promise<void> {
  const s3 = createS3Client({ endpoint: s3Endpoint });
  await s3
    .send(new HeadBucketCommand({ Bucket: 'demo' }))
    .catch(() => s3.send(new CreateBucketCommand({ Bucket: 'demo' })));
  const client = new ControlClient(controlEndpoint, token);
  const { associations } = (await client.send({ action: 'describeAssociations' })) as {
    associations: Array<{ fileSystemPath: string }>;
  };
  if (!associations.some((a) => a.fileSystemPath === '/demo')) {
    await client.send({
      action: 'createAssociation',
      fileSystemPath: '/demo',
      dataRepositoryPath: 's3://demo/',
    });
  }
}
