import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../../src/adapters/ledger-sqlite.ts';
import { findEchoes } from '../../../src/sync/plan/echoes.ts';
import { pairRenames } from '../../../src/sync/plan/renames.ts';
import type { Candidate, PlanDeps } from '../../../src/sync/plan/types.ts';
import { association } from '../../support/associations.ts';
import { presentFile } from '../adapters/ledger-contract.ts';

/**
 * The two plan steps that read the ledger, against the real embedded ledger,
 * counting its reads: echoes cost one batch read per association, rename
 * pairing reads the inode index only when the batch holds a delete.
 */

let directory: string;
let ledger: SqliteLedger;
const a = association('dra-a', '/a', 's3://bucket-a/');
const b = association('dra-b', '/b', 's3://bucket-b/p/');

/** The ledger as plan sees it, recording each read. */
function counted() {
  const reads: string[] = [];
  const port: PlanDeps['ledger'] = {
    getMany: (associationId, paths) => {
      reads.push(`getMany ${associationId} ${paths.join(',')}`);
      return ledger.getMany(associationId, paths);
    },
    findByIno: (associationId, ino) => {
      reads.push(`findByIno ${associationId} ${ino}`);
      return ledger.findByIno(associationId, ino);
    },
  };
  return { port, reads };
}

async function seed(associationId: string, path: string, ino: string) {
  const taken = await ledger.acquire(associationId, path, 'seed', 60_000);
  if (!taken.acquired) throw new Error(`could not seed ${path}`);
  await ledger.commit(associationId, path, taken.lease, presentFile(ino));
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'bucketlink-plan-'));
  ledger = new SqliteLedger({ path: join(directory, 'ledger.sqlite') });
  await seed('dra-a', 'synced.txt', '42');
  await seed('dra-a', 'old.txt', '43');
  await seed('dra-b', 'synced.txt', '44');
});

afterAll(async () => {
  ledger?.close();
  await rm(directory, { recursive: true, force: true });
});

describe('echo detection reads the ledger once per association', () => {
  it('marks the upload whose ETag and the report whose stat the ledger holds, in one read per association', async () => {
    const stat = {
      ...presentFile('42').fs!,
      kind: 'file' as const,
      path: '/a/synced.txt',
      op: 'modified' as const,
      seq: 1,
    };
    const candidates: Candidate[] = [
      { association: a, path: 'synced.txt', messageId: 'm-1', etag: 'abc' },
      { association: b, path: 'synced.txt', messageId: 'm-2', etag: 'other' },
      { association: a, path: 'synced.txt', messageId: 'm-3', seen: stat },
      { association: a, path: 'synced.txt', messageId: 'm-4', seen: { ...stat, ctimeNs: '9' } },
      { association: a, path: 'unknown.txt', messageId: 'm-5', etag: 'abc' },
      { association: a, path: 'synced.txt', messageId: 'm-6', op: 'deleted' },
      { association: b, path: 'x'.repeat(1030), messageId: 'm-7', etag: 'abc' },
    ];
    const { port, reads } = counted();
    expect([...(await findEchoes(candidates, port))].sort()).toEqual([0, 2]);
    expect(reads).toEqual([
      'getMany dra-a synced.txt,synced.txt,synced.txt,unknown.txt',
      'getMany dra-b synced.txt',
    ]);
  });
});

describe('rename pairing reads the inode index only when the batch holds a delete', () => {
  it('reads nothing for a batch of creates', async () => {
    const { port, reads } = counted();
    const candidates: Candidate[] = [
      { association: a, path: 'new.txt', messageId: 'm-1', op: 'created', ino: '43' },
      { association: a, path: 'other.txt', messageId: 'm-2', op: 'created', ino: '42' },
    ];
    expect(await pairRenames(candidates, port)).toEqual(candidates);
    expect(reads).toEqual([]);
  });

  it('pairs a create with the delete of the path the ledger holds for its inode, and drops that delete', async () => {
    const { port, reads } = counted();
    const candidates: Candidate[] = [
      { association: a, path: 'old.txt', messageId: 'm-1', op: 'deleted' },
      { association: a, path: 'new.txt', messageId: 'm-2', op: 'created', ino: '43' },
      { association: a, path: 'copy.txt', messageId: 'm-3', op: 'created', ino: '42' },
    ];
    const paired = await pairRenames(candidates, port);
    expect(paired.map((c) => [c.path, c.op, c.renamedFrom])).toEqual([
      ['new.txt', 'created', 'old.txt'],
      ['copy.txt', 'created', undefined],
    ]);
    expect(reads).toEqual(['findByIno dra-a 43', 'findByIno dra-a 42']);
  });
});
