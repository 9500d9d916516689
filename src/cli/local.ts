import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createS3Client } from '../adapters/clients.ts';
import { SyncError } from '../core/errors.ts';
import { parseLedgerOption } from '../local/ledger-source.ts';
import { startLocalRuntime } from '../local/runtime.ts';
import { logger } from '../log.ts';
import { startupError } from './startup-errors.ts';
import { ControlClient } from './transport.ts';

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT', 'debug', 'info', 'warn', 'error', 'silent'];

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535)
    throw new InvalidArgumentError(`not a port: ${value}`);
  return parsed;
}

function byteCount(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new InvalidArgumentError(`not a byte count: ${value}`);
  return parsed;
}

function positiveSeconds(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`not a number of seconds: ${value}`);
  return parsed;
}

/** `bucketlink local`: the embedded single-machine runtime. */
export function localCommand(): Command {
  return new Command('local')
    .description(
      'run the whole pipeline on this machine against embedded S3 and DynamoDB endpoints, or against AWS S3 or any S3 server (--s3-endpoint)',
    )
    .option('--root <dir>', 'file-system root (associations live below it)', './data/fs')
    .option(
      '--state <dir>',
      'where the embedded S3 and ledger keep their data (and walk manifests)',
      './data/state',
    )
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
    .option(
      '--s3-endpoint <url|aws>',
      'sync with this S3-compatible server instead of the embedded one; "aws" means AWS S3 ' +
        '(no embedded S3 starts; credentials from the AWS chain: environment, shared config, SSO, roles)',
    )
    .option(
      '--region <region>',
      "region of an external store: default AWS_REGION, then the profile's region (an S3-compatible server: then us-east-1)",
    )
    .option(
      '--profile <name>',
      'shared-config profile for the credentials of an external store (as AWS_PROFILE)',
    )
    .option('--lustre-mdt <device>', "take file-system changes from this MDT's Lustre changelog, not inotify")
    .option(
      '--changelog-user <id>',
      'with --lustre-mdt: the registered changelog user to clear records for',
      'cl1',
    )
    .option('--lfs <path>', 'with --lustre-mdt: the lfs binary', 'lfs')
    .option(
      '--ledger <where>',
      'embedded (under --state), or dynamodb:TABLE[,ASSOCIATIONS,TASKS] (shared by several hosts; created when missing)',
      parseLedgerOption,
    )
    .option(
      '--dynamodb-endpoint <url>',
      'with --ledger dynamodb:…, a DynamoDB endpoint other than AWS (a test peer)',
    )
    .option(
      '--events-queue <sqs-url>',
      'with --s3-endpoint: S3 changes from this SQS queue (EventBridge rule or S3 notifications; see `bucketlink events setup`)',
    )
    .option(
      '--poll <seconds>',
      'with --s3-endpoint: find changed objects by listing every SECONDS (for stores without notifications)',
      positiveSeconds,
    )
    .option(
      '--path-style',
      'address buckets in the path, not the host name (always on for an IP or localhost)',
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
      process.env.POWERTOOLS_LOG_LEVEL ??= 'INFO';
      if (options.s3Port !== 0 && options.s3Port === options.controlPort)
        throw new SyncError(
          'BadRequest',
          `--s3-port and --control-port are both ${options.s3Port}: give them different ports (or 0)`,
        );
      if (options.poll !== undefined && options.eventsQueue !== undefined)
        throw new SyncError('BadRequest', 'choose one S3 change source: --events-queue or --poll');
      if (options.eventsQueue !== undefined && !options.s3Endpoint)
        throw new SyncError(
          'BadRequest',
          '--events-queue needs --s3-endpoint (the embedded S3 sends its own events)',
        );
      if (options.poll !== undefined && !options.s3Endpoint)
        throw new SyncError(
          'BadRequest',
          '--poll needs --s3-endpoint (the embedded S3 sends its own events)',
        );
      if (options.demo && options.s3Endpoint)
        throw new SyncError('BadRequest', '--demo creates its bucket in the embedded S3; drop --s3-endpoint');
      const runtime = await startLocalRuntime({
        root: options.root,
        state: options.state,
        host: options.host,
        s3Port: options.s3Port,
        controlPort: options.controlPort,
        largeFileBytes: options.largeFileBytes,
        s3Changes: { pollSeconds: options.poll, eventsQueue: options.eventsQueue },
        ledger: options.ledger,
        ...(options.lustreMdt
          ? { lustre: { mdt: options.lustreMdt, user: options.changelogUser, lfs: options.lfs } }
          : {}),
        dynamodb: { endpoint: options.dynamodbEndpoint, region: options.region, profile: options.profile },
        ...(options.s3Endpoint
          ? {
              s3: {
                endpoint: options.s3Endpoint,
                region: options.region,
                profile: options.profile,
                pathStyle: options.pathStyle,
              },
            }
          : {}),
      }).catch((error) => {
        throw startupError(error, {
          host: options.host,
          ports: { '--s3-port': options.s3Port, '--control-port': options.controlPort },
        });
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
