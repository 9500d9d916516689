import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoAssociationStore } from '../../../src/adapters/association-store.ts';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import { defaultTableNames, ensureTables } from '../../../src/adapters/tables.ts';
import type { Association } from '../../../src/core/types.ts';
import { type DynamoServer, startDynamoServer } from '../../../src/local/peers.ts';

const names = defaultTableNames('association-test');
let server: DynamoServer;
let client: DynamoDBDocumentClient;
let store: DynamoAssociationStore;

function association(overrides: Partial<Association> = {}): Association {
  return {
    associationId: `dra-${randomBytes(9).toString('hex').slice(0, 17)}`,
    fileSystemPath: '/logs',
    dataRepositoryPath: 's3://logs/',
    autoImport: ['NEW', 'CHANGED', 'DELETED'],
    autoExport: ['NEW', 'CHANGED'],
    batchImportMetaDataOnCreate: true,
    conflictPolicy: 'KEEP_BOTH',
    lifecycle: 'AVAILABLE',
    creationTime: '2024-05-01T12:00:00.000Z',
    ...overrides,
  };
}

beforeAll(async () => {
  server = await startDynamoServer({});
  client = createDocumentClient({ endpoint: server.endpoint });
  await ensureTables(client, names);
  store = new DynamoAssociationStore({ client, tableName: names.associations });
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
});

describe('DynamoAssociationStore', () => {
  it('returns undefined for an unknown association', async () => {
    expect(await store.get('dra-00000000000000000')).toBeUndefined();
  });

  it('reads back an association exactly as it was put, optional fields included', async () => {
    const plain = association();
    const failed = association({
      fileSystemPath: '/data',
      dataRepositoryPath: 's3://data/prefix/',
      autoExport: [],
      lifecycle: 'MISCONFIGURED',
      failureDetails: { message: 'bucket data does not exist' },
    });
    await store.put(plain);
    await store.put(failed);

    expect(await store.get(plain.associationId)).toEqual(plain);
    expect(await store.get(failed.associationId)).toEqual(failed);
  });

  it('replaces an association on a second put', async () => {
    const created = association({ lifecycle: 'CREATING' });
    await store.put(created);
    await store.put({ ...created, lifecycle: 'AVAILABLE', conflictPolicy: 'NEWER' });

    expect(await store.get(created.associationId)).toMatchObject({
      lifecycle: 'AVAILABLE',
      conflictPolicy: 'NEWER',
    });
  });

  it('lists every association across scan pages, ordered by id', async () => {
    // 30 items of ~60 KB exceed the 1 MB a Scan page holds, so list must follow LastEvaluatedKey.
    const added = Array.from({ length: 30 }, () =>
      association({ failureDetails: { message: 'x'.repeat(60_000) } }),
    );
    for (const item of added) await store.put(item);
    const firstPage = await client.send(new ScanCommand({ TableName: names.associations }));
    expect(firstPage.LastEvaluatedKey).toBeDefined();

    const listed = await store.list();

    const ids = listed.map((item) => item.associationId);
    expect(ids).toEqual([...ids].sort());
    expect(ids).toEqual(expect.arrayContaining(added.map((item) => item.associationId)));
  });

  it('deletes an association, and deleting a missing one is not an error', async () => {
    const doomed = association();
    await store.put(doomed);

    await store.delete(doomed.associationId);
    await store.delete(doomed.associationId);

    expect(await store.get(doomed.associationId)).toBeUndefined();
    expect((await store.list()).map((item) => item.associationId)).not.toContain(doomed.associationId);
  });
});
