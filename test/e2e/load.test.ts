import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess } from '../support/bucketlink.ts';

/**
 * Load: files created on the file system and objects put to S3 at the same
 * time, in different associations. Everything syncs, each file is transferred
 * exactly once (no loops), and the runtime's peak memory is recorded.
 * BUCKETLINK_LOAD_FILES / BUCKETLINK_LOAD_OBJECTS set the counts (the issue
 * asks for 10,000 each; `npm test` runs 300 each to stay near a minute here).
 */
const FILES = Number(process.env.BUCKETLINK_LOAD_FILES ?? 300);
const OBJECTS = Number(process.env.BUCKETLINK_LOAD_OBJECTS ?? 300);
const CONCURRENCY = 16;

async function inParallel(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

/** Regular files under `dir`, as paths relative to it (the sentinel left out). */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name !== '.bucketlink')
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

async function listKeys(local: LocalProcess, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await local.s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) keys.push(object.Key!);
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

/** Peak resident set size of a process, in MiB (VmHWM). */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

describe(`${FILES} files and ${OBJECTS} objects at once`, () => {
  let local: LocalProcess;

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('load-out');
    await local.createBucket('load-in');
    await local.associate('/load-fs', 's3://load-out/');
    await local.associate('/load-s3', 's3://load-in/incoming/');
  }, 180_000);
  afterAll(async () => {
    await local?.stop();
  });

  it('syncs everything, transfers each file once and records peak memory', async () => {
    const started = Date.now();
    const before = (await local.status()).transfers;
    const path = (i: number) => `d${i % 20}/file-${i}.txt`;
    await Promise.all([
      inParallel(FILES, async (i) => {
        await mkdir(join(local.root, 'load-fs', `d${i % 20}`), { recursive: true });
        await writeFile(join(local.root, 'load-fs', path(i)), `file ${i}\n`);
      }),
      inParallel(OBJECTS, (i) =>
        local.s3.send(
          new PutObjectCommand({ Bucket: 'load-in', Key: `incoming/${path(i)}`, Body: `object ${i}\n` }),
        ),
      ),
    ]);

    // Generous: in CI this runs beside the whole suite on two cores (one run needed over 96 s for 600).
    const deadline = 180_000 + 150 * (FILES + OBJECTS);
    await eventually(async () => {
      const { transfers } = await local.status();
      return transfers.exports - before.exports >= FILES && transfers.imports - before.imports >= OBJECTS;
    }, deadline).catch(async (error) => {
      // Say what is missing, so a failure here can be diagnosed from the CI log alone.
      const keys = new Set(await listKeys(local, 'load-out'));
      const files = new Set(await listFiles(join(local.root, 'load-s3')));
      const shortfall = {
        notExported: Array.from({ length: FILES }, (_, i) => path(i)).filter((p) => !keys.has(p)),
        notImported: Array.from({ length: OBJECTS }, (_, i) => path(i)).filter((p) => !files.has(p)),
        status: await local.status(),
        stderrTail: local.stderr.slice(-4000),
      };
      throw new Error(`${(error as Error).message}: ${JSON.stringify(shortfall, null, 1)}`);
    });
    const settled = await local.settle(deadline);
    const syncedMs = Date.now() - started;

    // Exactly once each way, and nothing flowing back.
    expect(settled.transfers.exports - before.exports).toBe(FILES);
    expect(settled.transfers.imports - before.imports).toBe(OBJECTS);
    expect(settled.transfers.total - before.total).toBe(FILES + OBJECTS);
    expect(settled.failed).toBe(0);
    expect(await listFiles(join(local.root, 'load-s3'))).toHaveLength(OBJECTS);
    expect(await listKeys(local, 'load-out')).toHaveLength(FILES);
    // A quiet period moves nothing more.
    const quiet = await local.settle(deadline);
    expect(quiet.transfers.total).toBe(settled.transfers.total);

    console.log(
      JSON.stringify({
        load: { files: FILES, objects: OBJECTS },
        syncedMs,
        peakRssMiB: Math.round(await peakRssMiB(local.child.pid!)),
      }),
    );
  }, 3_600_000);
});
