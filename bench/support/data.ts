import { createCipheriv, createHash } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** A data set: `count` files/objects of `size` bytes, their bytes fixed by `seed`. */
export interface DataSpec {
  count: number;
  size: number;
  seed: number;
}

/** Files per directory: a tree, not one flat directory, as real data sets are. */
const FANOUT = 100;

/** Relative path of item `index`: `d0007/f000712.bin`. */
export function itemPath(index: number): string {
  const dir = String(Math.floor(index / FANOUT)).padStart(4, '0');
  return `d${dir}/f${String(index).padStart(6, '0')}.bin`;
}

/**
 * The bytes of item `index`: AES-CTR keystream under a key derived from the
 * seed, so every run, tool and machine sees the same incompressible data
 * without storing it.
 */
export function itemBytes(spec: Pick<DataSpec, 'seed' | 'size'>, index: number): Buffer {
  const key = createHash('sha256').update(`bucketlink-bench:${spec.seed}`).digest().subarray(0, 16);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(index >>> 0, 12);
  return createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(spec.size));
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` in flight. */
export async function pool(count: number, concurrency: number, task: (index: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** `mkdir -p` once per directory, however many workers ask for it at the same time. */
export function directoryMaker(): (path: string) => Promise<void> {
  const made = new Map<string, Promise<unknown>>();
  return async (path) => {
    const parent = dirname(path);
    if (!made.has(parent)) made.set(parent, mkdir(parent, { recursive: true }));
    await made.get(parent);
  };
}

export async function writeFiles(dir: string, spec: DataSpec): Promise<void> {
  const makeParent = directoryMaker();
  await pool(spec.count, 16, async (index) => {
    const path = join(dir, itemPath(index));
    await makeParent(path);
    await writeFile(path, itemBytes(spec, index));
  });
}

export async function putObjects(s3: S3Client, bucket: string, spec: DataSpec, prefix = ''): Promise<void> {
  // Large objects one or two at a time: 16 × 128 MiB buffers would only measure the allocator.
  const concurrency = spec.size > 8 * 1024 * 1024 ? 2 : 16;
  await pool(spec.count, concurrency, async (index) => {
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: prefix + itemPath(index), Body: itemBytes(spec, index) }),
    );
  });
}

/** Every regular file under `dir` (relative path → size), skipping bucketlink's sentinel. */
export async function treeSizes(dir: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || entry.name === '.bucketlink') continue;
    const path = join(entry.parentPath, entry.name);
    sizes.set(relative(dir, path), (await stat(path)).size);
  }
  return sizes;
}

/** Every object in the bucket (key → size). */
export async function bucketSizes(s3: S3Client, bucket: string): Promise<Map<string, number>> {
  const sizes = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) sizes.set(object.Key!, object.Size ?? 0);
    token = page.NextContinuationToken;
  } while (token);
  return sizes;
}

/** How many items of the data set `found` lacks (absent, or the wrong size). */
export function missingItems(found: Map<string, number>, spec: DataSpec): number {
  let missing = 0;
  for (let index = 0; index < spec.count; index++) {
    if (found.get(itemPath(index)) !== spec.size) missing++;
  }
  return missing;
}

/**
 * Throws unless `found` holds the whole data set (every item, right size):
 * a tool that is fast because it skipped work must not win.
 */
export function verifyItems(found: Map<string, number>, spec: DataSpec, where: string): void {
  const missing = missingItems(found, spec);
  if (missing)
    throw new Error(
      `${where}: ${missing} of ${spec.count} items missing or wrong size (${found.size} found)`,
    );
}
