import { randomBytes } from 'node:crypto';
import { chmod, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import { S3RangeStore } from '../../../src/adapters/s3-ranges.ts';
import { decodePosixMeta, encodePosixMeta } from '../../../src/core/metadata.ts';
import type { ApplyResult, Association } from '../../../src/core/types.ts';
import { type LocalLargeTransfers, startLocalLargeTransfers } from '../../../src/local/large-transfers.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import type { ApplyDeps } from '../../../src/sync/deps.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * The large-file path end to end: apply hands a file or object above the
 * threshold to statemachines/large-transfer.asl.json (run locally by
 * aws-local-stepfunctions over the real large function), which moves it in
 * 5 MiB ranges against s3rver and commits the ledger. A source that moves
 * mid-transfer aborts it: no torn file at the real path, no completed object.
 */

const MiB = 1024 * 1024;
const SIZE = 12 * MiB;

type Fault = (call: 'uploadPart' | 'getRange', partNumber: number) => Promise<void>;

describe('the large-file path (STANDARD execution over ranges)', () => {
  let stack: Stack;
  let association: Association;
  let large: LocalLargeTransfers;
  let deps: ApplyDeps;
  let results: ApplyResult[];
  let fault: Fault | undefined;
  const aborted: string[] = [];
  const partsSent: number[] = [];
  const root = () => join(stack.root, 'big');

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('big');
    association = await stack.associate('/big', 's3://big/p/');
    const real = new S3RangeStore({ client: createS3Client({ endpoint: stack.config.s3Endpoint }) });
    // The real store, with a hook before parts (to move the source mid-transfer) and a record of aborts.
    const ranges = {
      createUpload: real.createUpload.bind(real),
      complete: real.complete.bind(real),
      uploadPart: async (...args: Parameters<S3RangeStore['uploadPart']>) => {
        partsSent.push(args[3]);
        await fault?.('uploadPart', args[3]);
        return real.uploadPart(...args);
      },
      getRange: async (...args: Parameters<S3RangeStore['getRange']>) => {
        await fault?.('getRange', args[3] === 0 ? 1 : 2);
        return real.getRange(...args);
      },
      abort: async (...args: Parameters<S3RangeStore['abort']>) => {
        aborted.push(args[2]);
        return real.abort(...args);
      },
    };
    large = await startLocalLargeTransfers({
      config: stack.config,
      apply: stack.applyDeps(),
      thresholdBytes: 8 * MiB,
      partSize: 5 * MiB,
      maxConcurrency: 2,
      onResult: (result) => results.push(result),
      retryIntervalMs: 1,
      ranges,
    });
    deps = { ...stack.applyDeps(), largeTransfers: large };
  });
  afterAll(async () => {
    await large?.drain();
    await stack?.close();
  });
  beforeEach(() => {
    results = [];
    fault = undefined;
    aborted.length = 0;
    partsSent.length = 0;
  });

  const item = (path: string) => ({ associationId: association.associationId, path, messageIds: [] });
  const head = (key: string) =>
    stack.s3.send(new HeadObjectCommand({ Bucket: 'big', Key: key })).catch((error: Error) => error);
  const tempFiles = async () => (await readdir(root())).filter((name) => name.startsWith('.bucketlink-tmp-'));

  /** Applies once (a hand-off), then waits for the execution it started. */
  async function applyLarge(path: string): Promise<ApplyResult> {
    const first = await applyItem(item(path), deps);
    expect(first.outcome).toBe('handed-off');
    await large.drain();
    expect(results).toHaveLength(1);
    return results[0]!;
  }

  it('exports a 12 MiB file in three ranges, byte-identical with its metadata, and commits the ledger', async () => {
    const content = randomBytes(SIZE);
    const file = join(root(), 'export.bin');
    await writeFile(file, content);
    await chmod(file, 0o640);
    await utimes(file, new Date('2024-01-02T03:04:05Z'), new Date('2024-01-02T03:04:05Z'));

    const result = await applyLarge('export.bin');

    expect(result).toMatchObject({ action: 'export', outcome: 'done', bytes: SIZE });
    const object = await stack.s3.send(new GetObjectCommand({ Bucket: 'big', Key: 'p/export.bin' }));
    expect(Buffer.from(await object.Body!.transformToByteArray()).equals(content)).toBe(true);
    // Three ranges of at most 5 MiB, each its own UploadPart: not a single PUT.
    expect(partsSent.sort()).toEqual([1, 2, 3]);
    const meta = decodePosixMeta(object.Metadata);
    const local = await stat(file, { bigint: true });
    expect(meta.mode).toBe(0o100640);
    expect(meta.mtimeNs).toBe(local.mtimeNs.toString());
    const row = await stack.adapters.ledger.get(association.associationId, 'export.bin');
    expect(row).toMatchObject({ state: 'present', kind: 'file' });
    expect(row!.s3!.etag).toBe(object.ETag!.replaceAll('"', ''));
    expect(row!.fs!.ino).toBe(local.ino.toString());
    // Quiet: nothing left to do, nothing handed off again.
    expect((await applyItem(item('export.bin'), deps)).outcome).toBe('unchanged');
    expect(large.running()).toBe(0);
  });

  it('imports a 12 MiB object by ranged reads, byte-identical with its metadata, and commits the ledger', async () => {
    const content = randomBytes(SIZE);
    const mtimeNs = '1700000000123456789';
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: 'big',
        Key: 'p/import.bin',
        Body: content,
        Metadata: encodePosixMeta({ mode: 0o100600, uid: 0, gid: 0, mtimeNs }),
      }),
    );

    const result = await applyLarge('import.bin');

    expect(result).toMatchObject({ action: 'import', outcome: 'done', bytes: SIZE });
    const file = join(root(), 'import.bin');
    expect((await readFile(file)).equals(content)).toBe(true);
    const local = await stat(file, { bigint: true });
    expect(Number(local.mode) & 0o7777).toBe(0o600);
    expect(local.mtimeNs / 1000n).toBe(BigInt(mtimeNs) / 1000n);
    expect(await tempFiles()).toEqual([]);
    const row = await stack.adapters.ledger.get(association.associationId, 'import.bin');
    expect(row).toMatchObject({ state: 'present', kind: 'file' });
    expect(row!.fs!.ino).toBe(local.ino.toString());
    expect((await applyItem(item('import.bin'), deps)).outcome).toBe('unchanged');
    expect(large.running()).toBe(0);
  });

  it.each([
    ['changed', (file: string) => writeFile(file, 'rewritten while its ranges were sent')],
    ['vanished', (file: string) => unlink(file)],
  ])('aborts an export whose file %s mid-transfer: no object, the lease released', async (what, move) => {
    const path = `moving-${what}.bin`;
    const file = join(root(), path);
    await writeFile(file, randomBytes(SIZE));
    fault = async (call, partNumber) => {
      if (call === 'uploadPart' && partNumber === 1) await move(file);
    };

    const result = await applyLarge(path);

    expect(result).toMatchObject({ outcome: 'failed', code: 'LargeTransferAborted' });
    expect(aborted).toHaveLength(1);
    expect(await head(`p/${path}`)).toMatchObject({ name: 'NotFound' });
    expect((await stack.adapters.ledger.get(association.associationId, path))?.state).toBeUndefined();
    // The lease is free: the file as it is now goes through (small now, or gone).
    fault = undefined;
    const again = await applyItem(item(path), deps);
    expect(again.outcome).toBe(what === 'changed' ? 'done' : 'unchanged');
  });

  it('aborts an import whose object changed mid-transfer: no file at the path, no temp file left', async () => {
    await stack.s3.send(
      new PutObjectCommand({ Bucket: 'big', Key: 'p/replaced.bin', Body: randomBytes(SIZE) }),
    );
    const newer = randomBytes(SIZE);
    let replacing: Promise<unknown> | undefined;
    fault = async (call, partNumber) => {
      if (call === 'getRange' && partNumber === 1) {
        replacing = stack.s3.send(
          new PutObjectCommand({ Bucket: 'big', Key: 'p/replaced.bin', Body: newer }),
        );
        await replacing;
      }
    };

    const result = await applyLarge('replaced.bin');
    // The execution fails at the first part that sees the new ETag, maybe before the PUT returned.
    await replacing;

    expect(result).toMatchObject({ outcome: 'failed', code: 'LargeTransferAborted' });
    await expect(stat(join(root(), 'replaced.bin'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await tempFiles()).toEqual([]);
    // Released: the next apply moves the newer version whole.
    fault = undefined;
    results = [];
    const retried = await applyLarge('replaced.bin');
    expect(retried).toMatchObject({ action: 'import', outcome: 'done' });
    expect((await readFile(join(root(), 'replaced.bin'))).equals(newer)).toBe(true);
  });

  it('does not replace a file written at the path while the import ran', async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: 'big', Key: 'p/raced.bin', Body: randomBytes(SIZE) }));
    const file = join(root(), 'raced.bin');
    fault = async (call, partNumber) => {
      if (call === 'getRange' && partNumber === 1) await writeFile(file, 'a local writer got here first');
    };

    const result = await applyLarge('raced.bin');

    expect(result).toMatchObject({ outcome: 'failed', code: 'LargeTransferAborted' });
    expect(await readFile(file, 'utf8')).toBe('a local writer got here first');
    expect(await tempFiles()).toEqual([]);
  });
});
