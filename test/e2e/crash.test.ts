import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/adapters/clients.ts';
import type { LedgerEntry } from '../../src/core/types.ts';
import { openEmbeddedLedger } from '../../src/local/ledger-embedded.ts';
import { startS3Server } from '../../src/local/peers.ts';
import { eventually, LocalProcess, tempDirs } from '../support/bucketlink.ts';

/**
 * Guarantee 3 (nothing lost) against the real process: `bucketlink local`
 * is SIGKILLed in the middle of a large import and of a large export. After
 * the kill there is no partial file at the real path, no half object and no
 * ledger row claiming the work; after a restart the transfer completes.
 * BUCKETLINK_CRASH_MIB sets the size: 64 MiB by default (multipart, and still
 * mid-transfer when killed), BUCKETLINK_CRASH_MIB=200 for the size.
 */
const MIB = 1024 * 1024;
const SIZE = Number(process.env.BUCKETLINK_CRASH_MIB ?? 64) * MIB;
const TEMP_PREFIX = '.bucketlink-tmp-';

/** Writes `size` bytes of non-repeating content; returns its MD5. */
async function bigFile(path: string, size: number): Promise<string> {
  const md5 = createHash('md5');
  async function* chunks() {
    for (let i = 0; i < size / MIB; i++) {
      const chunk = Buffer.alloc(MIB, `${path}:${i}:`);
      md5.update(chunk);
      yield chunk;
    }
  }
  await pipeline(chunks, createWriteStream(path));
  return md5.digest('hex');
}

async function md5Of(path: string): Promise<string> {
  const md5 = createHash('md5');
  await pipeline(createReadStream(path), md5);
  return md5.digest('hex');
}

/** Bytes the process has read so far (files and sockets): rises while it transfers. */
async function bytesRead(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8');
  return Number(/^rchar: (\d+)$/m.exec(io)![1]);
}

async function kill(local: LocalProcess): Promise<void> {
  const exited = new Promise((resolve) => local.child.once('exit', resolve));
  local.child.kill('SIGKILL');
  await exited;
}

/** The ledger row for a path, read from the dead runtime's embedded ledger (SQLite under its state directory). */
async function ledgerRow(
  state: string,
  associationId: string,
  path: string,
): Promise<LedgerEntry | undefined> {
  const ledger = await openEmbeddedLedger(state);
  try {
    return await ledger.get(associationId, path);
  } finally {
    ledger.close();
  }
}

describe('SIGKILL in the middle of a large transfer', () => {
  let dirs: { root: string; state: string };
  let local: LocalProcess;
  let associationId: string;
  let scratch: string;
  const dir = () => join(dirs.root, 'big');

  beforeAll(async () => {
    dirs = await tempDirs();
    scratch = await mkdtemp(join(tmpdir(), 'bucketlink-crash-'));
    local = await LocalProcess.start(dirs);
    await local.createBucket('big');
    associationId = await local.associate('/big', 's3://big/');
  }, 180_000);
  afterAll(async () => {
    if (local?.child.exitCode === null && local.child.signalCode === null) await local.stop();
    // The big files are not worth keeping in /tmp.
    await rm(scratch, { recursive: true, force: true });
    await rm(dirname(dirs.root), { recursive: true, force: true });
  });

  it('leaves no partial file, no ledger row, and completes the import after a restart', async () => {
    const source = join(scratch, 'import.bin');
    const md5 = await bigFile(source, SIZE);
    await local.s3.send(
      new PutObjectCommand({
        Bucket: 'big',
        Key: 'import.bin',
        Body: createReadStream(source),
        ContentLength: SIZE,
      }),
    );

    // Kill once the download is visibly under way: a temp file, part written.
    const partial = await eventually(async () => {
      for (const name of await readdir(dir())) {
        if (!name.startsWith(TEMP_PREFIX)) continue;
        const { size } = await stat(join(dir(), name)).catch(() => ({ size: 0 }));
        if (size > 0 && size < SIZE) return { name, size };
      }
      return undefined;
    }, 60_000);
    await kill(local);

    const names = await readdir(dir());
    expect(names).not.toContain('import.bin');
    expect(await ledgerRow(dirs.state, associationId, 'import.bin')).toBeUndefined();

    local = await LocalProcess.start(dirs);
    await eventually(async () => (await md5Of(join(dir(), 'import.bin'))) === md5, 120_000);
    await local.settle(60_000);
    // The completed import is committed to the embedded ledger the reads above looked in.
    expect(await ledgerRow(dirs.state, associationId, 'import.bin')).toMatchObject({
      state: 'present',
      s3: { size: SIZE },
    });
    const leftovers = (await readdir(dir())).filter((name) => name.startsWith(TEMP_PREFIX));
    // A temp file is never exported, whether or not it is swept.
    const keys = (await local.s3.send(new ListObjectsV2Command({ Bucket: 'big' }))).Contents?.map(
      (o) => o.Key,
    );
    expect(keys?.filter((key) => key?.includes(TEMP_PREFIX))).toEqual([]);
    console.log(
      JSON.stringify({
        crash: 'import',
        mib: SIZE / MIB,
        killedAtBytes: partial.size,
        tempFilesLeft: leftovers.length,
      }),
    );
  }, 300_000);

  it('leaves no object and no ledger row, and completes the export after a restart', async () => {
    const pid = local.child.pid!;
    const baseline = await bytesRead(pid);
    // Written beside the root and renamed in, so the watcher never settles on a half-written file.
    const md5 = await bigFile(join(scratch, 'export-source.bin'), SIZE);
    await rename(join(scratch, 'export-source.bin'), join(dir(), 'export.bin'));

    // Kill once the runtime has read a tenth of the file (reading it, and s3rver receiving it).
    const readAtKill = await eventually(async () => {
      const read = (await bytesRead(pid)) - baseline;
      return read > SIZE / 10 ? read : undefined;
    }, 120_000);
    await kill(local);
    expect(await ledgerRow(dirs.state, associationId, 'export.bin')).toBeUndefined();
    // No half object: the dead runtime's bucket holds no object under the key (the upload was multipart).
    const s3rver = await startS3Server({ directory: join(dirs.state, 's3') });
    const afterKill = await createS3Client({ endpoint: s3rver.endpoint })
      .send(new HeadObjectCommand({ Bucket: 'big', Key: 'export.bin' }))
      .then(
        (o) => o.ContentLength,
        () => undefined,
      );
    await s3rver.close();
    expect(afterKill).toBeUndefined();

    local = await LocalProcess.start(dirs);
    // s3rver assembles a completed multipart object in place, so look only once the runtime is idle.
    await eventually(async () => (await local.status()).transfers.exports > 0, 120_000);
    await local.settle(120_000);
    const object = await local.s3.send(new HeadObjectCommand({ Bucket: 'big', Key: 'export.bin' }));
    expect(object.ContentLength).toBe(SIZE);
    // The object's bytes are the file's (a multipart ETag is not an MD5, so compare by downloading).
    const downloaded = join(scratch, 'export.bin');
    const body = await local.s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'export.bin' }));
    await pipeline(body.Body as NodeJS.ReadableStream, createWriteStream(downloaded));
    expect(await md5Of(downloaded)).toBe(md5);
    console.log(JSON.stringify({ crash: 'export', mib: SIZE / MIB, killedAfterReadingBytes: readAtKill }));
    await local.stop();
  }, 300_000);
});
