import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from '../../src/adapters/clients.ts';
import { bucketSizes, directoryMaker, pool } from './data.ts';

const execFileAsync = promisify(execFile);
const TIME = '/usr/bin/time';
const CPU_MARK = 'bench-cpu-seconds';

/** CPU time (user + system, ms) of the last peer command: GNU time's figure for it and its children. */
export let lastPeerCpuMs = 0;

/** Runs a peer under GNU time so its CPU cost is known as well as its duration. */
async function run(file: string, args: string[], options: { env: NodeJS.ProcessEnv; maxBuffer: number }) {
  const result = await execFileAsync(TIME, ['-f', `${CPU_MARK} %U %S`, file, ...args], options);
  const mark = new RegExp(`${CPU_MARK} ([\\d.]+) ([\\d.]+)`).exec(result.stderr);
  lastPeerCpuMs = mark ? (Number(mark[1]) + Number(mark[2])) * 1000 : Number.NaN;
  return result;
}

/** Debian's awscli (another `aws` may come first on PATH) and rclone. */
export const AWS = '/usr/bin/aws';
export const RCLONE = '/usr/bin/rclone';

/**
 * The server's floor runs at the concurrency bucketlink's apply batch uses
 * (BATCH_CONCURRENCY in src/handlers.ts, the ASL Map's MaxConcurrency).
 */
export const FLOOR_CONCURRENCY = 8;

/** A side of a sync: a local directory or an S3 location. */
export type Location = { dir: string } | { bucket: string };

function awsEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
  };
}

/** rclone's remote `bench:` from environment variables only; rclone refuses AWS_CA_BUNDLE pointing nowhere. */
function rcloneEnv(endpoint: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RCLONE_CONFIG_BENCH_TYPE: 's3',
    RCLONE_CONFIG_BENCH_PROVIDER: 'Other',
    RCLONE_CONFIG_BENCH_ENDPOINT: endpoint,
    RCLONE_CONFIG_BENCH_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE: 'true',
    RCLONE_CONFIG_BENCH_REGION: 'us-east-1',
  };
  delete env.AWS_CA_BUNDLE;
  return env;
}

/** `aws s3 sync SRC DST` with the CLI's defaults (10 concurrent requests, 8 MiB multipart threshold). */
export async function awsSync(endpoint: string, from: Location, to: Location): Promise<void> {
  const where = (l: Location) => ('dir' in l ? l.dir : `s3://${l.bucket}`);
  await run(
    AWS,
    ['--endpoint-url', endpoint, 's3', 'sync', where(from), where(to), '--only-show-errors', '--delete'],
    { env: awsEnv(), maxBuffer: 64 * 1024 * 1024 },
  );
}

/** `rclone sync SRC DST` with rclone's defaults (4 transfers, 8 checkers, size + modtime comparison). */
export async function rcloneSync(endpoint: string, from: Location, to: Location): Promise<void> {
  const where = (l: Location) => ('dir' in l ? l.dir : `bench:${l.bucket}`);
  await run(RCLONE, ['sync', where(from), where(to), '--s3-no-check-bucket', '-q'], {
    env: rcloneEnv(endpoint),
    maxBuffer: 64 * 1024 * 1024,
  });
}

export async function toolVersions(): Promise<Record<string, string>> {
  const first = async (file: string, args: string[]) =>
    (
      await execFileAsync(file, args).catch((error: Error) => ({ stdout: `unavailable: ${error.message}` }))
    ).stdout
      .split('\n')[0]!
      .trim();
  return { aws: await first(AWS, ['--version']), rclone: await first(RCLONE, ['version']) };
}

/** The floor for an import: list the bucket, GET every object into `dir`, FLOOR_CONCURRENCY at a time. */
export async function sdkDownload(s3: S3Client, bucket: string, dir: string): Promise<void> {
  const keys = [...(await bucketSizes(s3, bucket)).keys()];
  const makeParent = directoryMaker();
  await pool(keys.length, FLOOR_CONCURRENCY, async (index) => {
    const key = keys[index]!;
    const path = join(dir, key);
    await makeParent(path);
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    await writeFile(path, object.Body as NodeJS.ReadableStream);
  });
}

/** The floor for an export: walk `dir`, PUT every file, FLOOR_CONCURRENCY at a time. */
export async function sdkUpload(s3: S3Client, dir: string, bucket: string): Promise<void> {
  const files = await walkFiles(dir);
  await pool(files.length, FLOOR_CONCURRENCY, async (index) => {
    const path = files[index]!;
    const { size } = await stat(path);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: relative(dir, path),
        Body: createReadStream(path),
        ContentLength: size,
      }),
    );
  });
}

/** The floor for a no-op sync: list the bucket and stat every file, comparing sizes. Returns differences. */
export async function sdkCompare(s3: S3Client, dir: string, bucket: string): Promise<number> {
  const [objects, files] = await Promise.all([bucketSizes(s3, bucket), walkFiles(dir)]);
  let differences = 0;
  for (const path of files) {
    if (objects.get(relative(dir, path)) !== (await stat(path)).size) differences++;
  }
  return differences + Math.max(0, objects.size - files.length);
}

async function walkFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name !== '.bucketlink').map((e) => join(e.parentPath, e.name));
}
