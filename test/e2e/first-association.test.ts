import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalProcess } from '../support/bucketlink.ts';

describe('creating an association over data both sides already hold', () => {
  let local: LocalProcess;

  beforeAll(async () => {
    local = await LocalProcess.start();
  });
  afterAll(async () => {
    await local?.stop();
  });

  it('transfers nothing when the files and objects are the same bytes and mtimes', async () => {
    await local.createBucket('existing');
    const dir = join(local.root, 'existing');
    await mkdir(join(dir, 'nested'), { recursive: true });
    const files: Record<string, string> = {
      'a.txt': 'alpha',
      'nested/b.txt': 'bravo',
      'c.bin': 'x'.repeat(10_000),
    };
    for (const [path, content] of Object.entries(files)) {
      const full = join(dir, path);
      await writeFile(full, content);
      await utimes(full, 1_700_000_000, 1_700_000_000);
      const { mtimeNs } = await stat(full, { bigint: true });
      await local.s3.send(
        new PutObjectCommand({
          Bucket: 'existing',
          Key: path,
          Body: content,
          Metadata: { 'file-mtime': `${mtimeNs}ns` },
        }),
      );
    }
    // Objects without bucketlink metadata but with the same bytes match by checksum.
    await writeFile(join(dir, 'plain.txt'), 'no metadata here');
    await local.s3.send(
      new PutObjectCommand({ Bucket: 'existing', Key: 'plain.txt', Body: 'no metadata here' }),
    );
    const before = await local.settle();

    await local.associate('/existing', 's3://existing/');
    const after = await local.settle();

    expect(after.transfers.total - before.transfers.total).toBe(0);
    expect(after.conflicts).toBe(0);
  });
});
