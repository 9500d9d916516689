import { lstat, mkdir, readdir, readFile, readlink, rename, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApplyResult, Association } from '../../../src/core/types.ts';
import { applyFunction } from '../../../src/handlers.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import { hookedFileTree } from '../../support/faults.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * Guarantee 4 (safety): nothing is written outside an association root and
 * no file outside it is uploaded, whatever symlinks are planted inside it —
 * including one swapped in between the decision and the write.
 */

/** Every file and link under `dir`, with contents, so any write shows up. */
async function snapshot(dir: string, skip: string[] = []): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (at: string, rel: string) => {
    for (const name of (await readdir(at)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      if (skip.includes(path)) continue;
      const stats = await lstat(join(at, name));
      if (stats.isSymbolicLink()) out[path] = `-> ${await readlink(join(at, name))}`;
      else if (stats.isDirectory()) {
        out[`${path}/`] = '';
        await visit(join(at, name), path);
      } else out[path] = await readFile(join(at, name), 'utf8');
    }
  };
  await visit(dir, '');
  return out;
}

describe('nothing escapes an association root', () => {
  let stack: Stack;
  let association: Association;
  let assocRoot: string;
  let outside: string;
  let base: string;
  let before: Record<string, string>;
  /** Everything but the association's own tree and s3rver's storage. */
  const outsideView = () => snapshot(base, ['s3', 'fs/vault']);
  const item = (path: string) => ({ associationId: association.associationId, path, messageIds: [] });

  beforeAll(async () => {
    stack = await startStack();
    base = dirname(stack.root);
    await stack.createBucket('vault');
    association = await stack.associate('/vault', 's3://vault/');
    assocRoot = join(stack.root, 'vault');
    outside = join(base, 'outside');
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.txt'), 'SECRET');
  });
  afterAll(async () => {
    await stack?.close();
  });
  beforeEach(async () => {
    before = await outsideView();
  });

  it('exports a symlink that points outside the root as a link object, never the target content', async () => {
    await symlink(join(outside, 'secret.txt'), join(assocRoot, 'escape-link'));

    const result = await applyItem(item('escape-link'), stack.applyDeps());

    expect(result).toMatchObject({ action: 'export', outcome: 'done' });
    const object = await stack.s3.send(new GetObjectCommand({ Bucket: 'vault', Key: 'escape-link' }));
    expect(await object.Body!.transformToString()).toBe(join(outside, 'secret.txt'));
    expect(object.Metadata?.['file-permissions']).toBe('0120777');
    expect(await outsideView()).toEqual(before);
  });

  it('does not write through a symlinked directory when importing below it', async () => {
    await symlink(outside, join(assocRoot, 'linked-dir'));
    await stack.s3.send(
      new PutObjectCommand({ Bucket: 'vault', Key: 'linked-dir/payload.txt', Body: 'PWNED' }),
    );

    const result = await applyItem(item('linked-dir/payload.txt'), stack.applyDeps());

    expect(result).toMatchObject({ outcome: 'skipped', code: 'SymlinkInPath' });
    expect(await outsideView()).toEqual(before);
  });

  it('never writes an imported object through a link to an outside file', async () => {
    await symlink(join(outside, 'secret.txt'), join(assocRoot, 'overwrite-me'));
    await stack.s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'overwrite-me', Body: 'PWNED' }));

    const result = await applyItem(item('overwrite-me'), stack.applyDeps());

    // A link on one side and a file on the other is a kind mismatch: reported, neither side touched.
    expect(result).toMatchObject({ outcome: 'skipped', code: 'S3ImportObjectTypeMismatch' });
    expect(await readlink(join(assocRoot, 'overwrite-me'))).toBe(join(outside, 'secret.txt'));
    expect(await outsideView()).toEqual(before);
  });

  it('writes nothing outside when a directory is replaced by a symlink between the decision and the write', async () => {
    await mkdir(join(assocRoot, 'swapped'));
    await stack.s3.send(new PutObjectCommand({ Bucket: 'vault', Key: 'swapped/file.txt', Body: 'PWNED' }));
    const deps = stack.applyDeps();
    let swaps = 0;
    const tree = hookedFileTree(deps.tree, async (method, _root, path) => {
      if (method !== 'writeFile' || path !== 'swapped/file.txt' || swaps++ > 0) return;
      await rename(join(assocRoot, 'swapped'), join(assocRoot, 'swapped.moved-away'));
      await symlink(outside, join(assocRoot, 'swapped'));
    });

    const results = (await applyFunction({ ...deps, tree })({ Items: [item('swapped/file.txt')] })) as {
      results: ApplyResult[];
    };

    expect(swaps).toBe(1);
    expect(results.results[0]).toMatchObject({ outcome: expect.stringMatching(/^(failed|skipped)$/) });
    expect(results.results[0]!.code).toBe('SymlinkInPath');
    expect(await readdir(join(assocRoot, 'swapped.moved-away'))).toEqual([]);
    expect(await outsideView()).toEqual(before);
  });

  it('refuses to export a path whose key would exceed 1,024 bytes, and uploads nothing', async () => {
    const segments = Array.from({ length: 5 }, (_, i) => `${i}${'d'.repeat(199)}`);
    const path = `${segments.join('/')}/${'f'.repeat(30)}`;
    expect(Buffer.byteLength(path)).toBeGreaterThan(1024);
    await mkdir(join(assocRoot, dirname(path)), { recursive: true });
    await writeFile(join(assocRoot, path), 'long');

    const result = await applyItem(item(path), stack.applyDeps());

    expect(result).toMatchObject({ outcome: 'skipped', code: 'S3ExportPathSizeTooLong' });
    await expect(
      stack.s3.send(new HeadObjectCommand({ Bucket: 'vault', Key: path.slice(0, 1024) })),
    ).rejects.toThrow();
    expect(await outsideView()).toEqual(before);
  });
});
