import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import { S3ObjectStore } from '../../../src/adapters/s3.ts';
import type { Association } from '../../../src/core/types.ts';
import { applyItem } from '../../../src/sync/apply.ts';
import type { ApplyDeps } from '../../../src/sync/deps.ts';
import { type Stack, startStack } from '../../support/stack.ts';

/**
 * The requests one path costs, counted on the S3 client apply uses (s3rver
 * answers them): a new object is read by one GET, where it used to be a
 * HEAD and then a GET.
 */
describe('requests per path', () => {
  let stack: Stack;
  let association: Association;
  let deps: ApplyDeps;
  const sent: string[] = [];

  /** A client that records the name of every command it sends. */
  function countingClient(): S3Client {
    const client = createS3Client({ endpoint: stack.config.s3Endpoint });
    client.middlewareStack.add(
      (next, context) => (args) => {
        sent.push(context.commandName ?? 'unknown');
        return next(args);
      },
      { step: 'initialize' },
    );
    return client;
  }

  beforeAll(async () => {
    stack = await startStack();
    await stack.createBucket('requests');
    association = await stack.associate('/requests', 's3://requests/');
    deps = { ...stack.applyDeps(), store: new S3ObjectStore({ client: countingClient() }) };
  });
  afterAll(async () => {
    await stack?.close();
  });
  beforeEach(() => {
    sent.length = 0;
  });

  const apply = (path: string) =>
    applyItem({ associationId: association.associationId, path, kindHint: 'file', messageIds: [] }, deps);

  it('imports a new object with a single GET and no HEAD', async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: 'requests', Key: 'new.txt', Body: 'fresh' }));

    expect(await apply('new.txt')).toMatchObject({ action: 'import', outcome: 'done', bytes: 5 });

    expect(sent).toEqual(['GetObjectCommand']);
    expect(await readFile(join(stack.root, 'requests/new.txt'), 'utf8')).toBe('fresh');
    // The ledger row is the object's state as the GET saw it: the echo of the write is unchanged.
    expect(await apply('new.txt')).toMatchObject({ action: 'none', outcome: 'unchanged' });
  });

  it('reads a new symlink object by the same single GET', async () => {
    await stack.s3.send(
      new PutObjectCommand({
        Bucket: 'requests',
        Key: 'link',
        Body: 'new.txt',
        Metadata: { 'file-permissions': '0120777' },
      }),
    );

    expect(await apply('link')).toMatchObject({ action: 'import', outcome: 'done' });

    expect(sent).toEqual(['GetObjectCommand']);
  });

  it('still HEADs when the file exists (an export or a first comparison needs no body)', async () => {
    await writeFile(join(stack.root, 'requests/local.txt'), 'local');

    expect(await apply('local.txt')).toMatchObject({ action: 'export', outcome: 'done' });

    expect(sent.filter((name) => name === 'GetObjectCommand')).toEqual([]);
    expect(sent).toContain('HeadObjectCommand');
  });

  it('finds a path that is only an implied directory after the GET misses, by one listing', async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: 'requests', Key: 'dir/child.txt', Body: 'c' }));

    expect(await apply('dir')).toMatchObject({ outcome: 'unchanged', reason: 'implied-dir' });

    expect(sent).toEqual(['GetObjectCommand', 'ListObjectsV2Command']);
  });

  it('does not GET an object the policy would not import', async () => {
    await stack.createBucket('exportonly');
    const exportOnly = await stack.associate('/exportonly', 's3://exportonly/', { autoImport: [] });
    await stack.s3.send(new PutObjectCommand({ Bucket: 'exportonly', Key: 'x.txt', Body: 'not for import' }));

    const result = await applyItem(
      { associationId: exportOnly.associationId, path: 'x.txt', kindHint: 'file', messageIds: [] },
      deps,
    );

    expect(result).toMatchObject({ action: 'skip', reason: 'policy-excludes' });
    expect(sent.filter((name) => name === 'GetObjectCommand')).toEqual([]);
  });
});
