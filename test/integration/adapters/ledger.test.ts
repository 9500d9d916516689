import { randomBytes } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import { DynamoLedger, TOMBSTONE_TTL_MS } from '../../../src/adapters/ledger.ts';
import type { Lease, LedgerWrite } from '../../../src/adapters/ports.ts';
import {
  defaultTableNames,
  ensureTables,
  LEDGER_SHARDS,
  ledgerPartition,
  ledgerShard,
} from '../../../src/adapters/tables.ts';
import { LeaseHeldError, LedgerConflictError } from '../../../src/core/errors.ts';
import { type DynamoServer, startDynamoServer } from '../../../src/local/peers.ts';
import { Interleaver } from './interleaver.ts';

const names = defaultTableNames('ledger-test');
const TTL = 60_000;
let server: DynamoServer;
let client: DynamoDBDocumentClient;

const newAssociationId = () => `dra-${randomBytes(9).toString('hex').slice(0, 17)}`;

function presentFile(ino = '42', syncedAtMs = 1_000): NonNullable<LedgerWrite> {
  return {
    kind: 'file',
    state: 'present',
    syncedAtMs,
    fs: { size: 3, mtimeNs: '1700000000000000000', ctimeNs: '1700000000000000001', ino, mode: 0o100644 },
    s3: { etag: 'abc', lastModified: '2024-01-01T00:00:00.000Z', size: 3, metaHash: 'm1' },
  };
}

/** A ledger whose clock the test moves. */
function ledgerAt(start = 1_700_000_000_000) {
  const clock = { now: start };
  const ledger = new DynamoLedger({ client, tableName: names.ledger, now: () => clock.now });
  return { ledger, clock };
}

async function rawRow(associationId: string, path: string) {
  const { Item } = await client.send(
    new GetCommand({ TableName: names.ledger, Key: { pk: ledgerPartition(associationId, path), sk: path } }),
  );
  return Item;
}

async function mustAcquire(ledger: DynamoLedger, id: string, path: string, owner: string): Promise<Lease> {
  const result = await ledger.acquire(id, path, owner, TTL);
  if (!result.acquired) throw new Error(`${owner} did not get the lease on ${path}`);
  return result.lease;
}

beforeAll(async () => {
  server = await startDynamoServer({});
  client = createDocumentClient({ endpoint: server.endpoint });
  await ensureTables(client, names);
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
});

describe('ledger partitioning', () => {
  it('puts siblings in one shard and spreads directories over all shards', () => {
    expect(ledgerShard('a/b/one')).toBe(ledgerShard('a/b/two'));
    const shards = new Set(Array.from({ length: 200 }, (_, i) => ledgerShard(`dir-${i}/file`)));
    expect(shards.size).toBe(LEDGER_SHARDS);
    expect(ledgerPartition('dra-1', 'top')).toBe(`dra-1#${ledgerShard('x')}`);
  });
});

describe('DynamoLedger rows', () => {
  it('returns undefined for a path never synced', async () => {
    const { ledger } = ledgerAt();
    expect(await ledger.get(newAssociationId(), 'nothing/here')).toBeUndefined();
  });

  it('reads back what a commit wrote, at rev 1', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    const lease = await mustAcquire(ledger, id, 'docs/a.txt', 'w1');
    expect(lease).toEqual({ owner: 'w1', base: undefined, rev: 0, wanted: 0 });

    expect(await ledger.commit(id, 'docs/a.txt', lease, presentFile())).toEqual({ rerun: false });

    expect(await ledger.get(id, 'docs/a.txt')).toEqual({
      associationId: id,
      path: 'docs/a.txt',
      rev: 1,
      ...presentFile(),
    });
    const row = await rawRow(id, 'docs/a.txt');
    expect(row?.leaseOwner).toBeUndefined();
    expect(row?.inoKey).toBe(`${id}#42`);
  });

  it('increments rev on every commit and refuses a commit on a stale rev', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    await ledger.commit(id, 'f', await mustAcquire(ledger, id, 'f', 'w1'), presentFile('1'));
    const second = await mustAcquire(ledger, id, 'f', 'w1');
    expect(second.rev).toBe(1);
    expect(second.base?.fs?.ino).toBe('1');
    await ledger.commit(id, 'f', second, presentFile('2'));
    expect((await ledger.get(id, 'f'))?.rev).toBe(2);

    const third = await mustAcquire(ledger, id, 'f', 'w1');
    await expect(ledger.commit(id, 'f', { ...third, rev: 1 }, presentFile('3'))).rejects.toBeInstanceOf(
      LedgerConflictError,
    );
    expect((await ledger.get(id, 'f'))?.fs?.ino).toBe('2');
  });

  it('hides a tombstone from readers once it has expired', async () => {
    const { ledger, clock } = ledgerAt();
    const id = newAssociationId();
    const lease = await mustAcquire(ledger, id, 'gone', 'w1');
    await ledger.commit(id, 'gone', lease, { kind: 'file', state: 'deleted', syncedAtMs: clock.now });

    const tombstone = await ledger.get(id, 'gone');
    expect(tombstone?.state).toBe('deleted');
    expect(tombstone?.expiresAt).toBe(Math.ceil((clock.now + TOMBSTONE_TTL_MS) / 1000));
    expect((await rawRow(id, 'gone'))?.inoKey).toBeUndefined();

    clock.now += TOMBSTONE_TTL_MS + 1_000;
    expect(await ledger.get(id, 'gone')).toBeUndefined();
    expect(await collect(ledger.list(id))).toEqual([]);
    const next = await mustAcquire(ledger, id, 'gone', 'w2');
    expect(next.base).toBeUndefined();
    // The expired row still exists until TTL removes it, so the next commit is conditioned on its rev.
    expect(next.rev).toBe(1);
    await ledger.commit(id, 'gone', next, presentFile());
    expect(await ledger.get(id, 'gone')).toMatchObject({ state: 'present', rev: 2 });
    expect((await rawRow(id, 'gone'))?.expiresAt).toBeUndefined();
  });

  it('drops a row on a null write', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    await ledger.commit(id, 'x', await mustAcquire(ledger, id, 'x', 'w1'), presentFile());
    await ledger.commit(id, 'x', await mustAcquire(ledger, id, 'x', 'w1'), null);
    expect(await rawRow(id, 'x')).toBeUndefined();
  });

  it('finds present rows by inode through the byIno index', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    await ledger.commit(id, 'old/name', await mustAcquire(ledger, id, 'old/name', 'w1'), presentFile('777'));
    await ledger.commit(id, 'other', await mustAcquire(ledger, id, 'other', 'w1'), presentFile('778'));
    const found = await ledger.findByIno(id, '777');
    expect(found.map((entry) => entry.path)).toEqual(['old/name']);
    expect(await ledger.findByIno(newAssociationId(), '777')).toEqual([]);
  });
});

describe('DynamoLedger leases', () => {
  it('keeps a second owner out while the lease is held', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    await mustAcquire(ledger, id, 'p', 'w1');
    expect(await ledger.acquire(id, 'p', 'w2', TTL)).toEqual({ acquired: false });
    expect(await ledger.get(id, 'p')).toBeUndefined();
  });

  it('tells the holder to re-plan when a loser asked, on commit and on release', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    const first = await mustAcquire(ledger, id, 'p', 'w1');
    await ledger.acquire(id, 'p', 'w2', TTL);
    expect(await ledger.commit(id, 'p', first, presentFile())).toEqual({ rerun: true });

    const second = await mustAcquire(ledger, id, 'p', 'w1');
    expect(await ledger.release(id, 'p', second)).toEqual({ rerun: false });
    const third = await mustAcquire(ledger, id, 'p', 'w1');
    await ledger.acquire(id, 'p', 'w3', TTL);
    expect(await ledger.release(id, 'p', third)).toEqual({ rerun: true });
    expect(await ledger.get(id, 'p')).toMatchObject({ rev: 1, state: 'present' });
  });

  it('lets another owner take over an expired lease and refuses the old holder', async () => {
    const { ledger, clock } = ledgerAt();
    const id = newAssociationId();
    const stale = await mustAcquire(ledger, id, 'p', 'w1');
    clock.now += TTL + 1;
    const fresh = await mustAcquire(ledger, id, 'p', 'w2');

    await expect(ledger.commit(id, 'p', stale, presentFile())).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(ledger.release(id, 'p', stale)).rejects.toBeInstanceOf(LedgerConflictError);
    expect(await ledger.commit(id, 'p', fresh, presentFile())).toEqual({ rerun: false });
  });

  it('deletes a lease-only row on release, but keeps it while someone still wants the path', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    await ledger.release(id, 'tmp', await mustAcquire(ledger, id, 'tmp', 'w1'));
    expect(await rawRow(id, 'tmp')).toBeUndefined();

    const lease = await mustAcquire(ledger, id, 'tmp', 'w1');
    await ledger.acquire(id, 'tmp', 'w2', TTL);
    expect(await ledger.release(id, 'tmp', lease)).toEqual({ rerun: true });
    expect(await rawRow(id, 'tmp')).toMatchObject({ wanted: 1 });
    const retry = await mustAcquire(ledger, id, 'tmp', 'w1');
    expect(await ledger.release(id, 'tmp', retry)).toEqual({ rerun: false });
    expect(await rawRow(id, 'tmp')).toBeUndefined();
  });

  it('gives the lease to exactly one of 20 concurrent owners, and the holder sees the others', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    const owners = Array.from({ length: 20 }, (_, i) => `w${i}`);

    const results = await Promise.all(owners.map((owner) => ledger.acquire(id, 'hot', owner, TTL)));

    const winners = results.flatMap((result) => (result.acquired ? [result.lease] : []));
    expect(winners).toHaveLength(1);
    expect(await ledger.commit(id, 'hot', winners[0]!, presentFile())).toEqual({ rerun: true });
    expect((await rawRow(id, 'hot'))?.wanted).toBe(19);
  });
});

describe('DynamoLedger list and clear', () => {
  it('lists every row of one association across shards, and clear removes them', async () => {
    const { ledger } = ledgerAt();
    const id = newAssociationId();
    const other = newAssociationId();
    const paths = Array.from({ length: 60 }, (_, i) => `d${i % 20}/f${i}`);
    for (const path of paths)
      await ledger.commit(id, path, await mustAcquire(ledger, id, path, 'w'), presentFile());
    await ledger.commit(other, 'd0/f0', await mustAcquire(ledger, other, 'd0/f0', 'w'), presentFile());
    await mustAcquire(ledger, id, 'lease/only', 'w');
    expect(new Set(paths.map((path) => ledgerPartition(id, path))).size).toBeGreaterThan(1);

    const listed = await collect(ledger.list(id));
    expect(listed.map((entry) => entry.path).sort()).toEqual([...paths].sort());
    expect(listed.every((entry) => entry.associationId === id)).toBe(true);

    await ledger.clear(id);
    expect(await collect(ledger.list(id))).toEqual([]);
    expect(await rawRow(id, 'lease/only')).toBeUndefined();
    expect(await ledger.get(other, 'd0/f0')).toBeDefined();
  });
});

describe('DynamoLedger under arbitrary interleavings', () => {
  type Step = 'commit' | 'tombstone' | 'drop' | 'release';
  /** What a worker saw; `ended` is a commit or release. */
  type WorkerEvent =
    | { owner: string; type: 'acquired' }
    | { owner: string; type: 'lost' }
    | { owner: string; type: 'ended'; rerun: boolean };
  /** A worker event placed in server order. */
  type Observed = WorkerEvent & { seq: number };
  type Observe = (event: WorkerEvent) => void;

  /** One owner: acquire when not holding, otherwise end the lease as the step says; release at the end. */
  async function worker(ledger: DynamoLedger, id: string, owner: string, steps: Step[], observe: Observe) {
    let lease: Lease | undefined;
    for (const step of steps) {
      if (!lease) {
        const result = await ledger.acquire(id, 'p', owner, TTL).catch((error: unknown) => {
          // Only after the lease changed hands five times mid-acquire; nothing was bumped.
          if (error instanceof LeaseHeldError) return undefined;
          throw error;
        });
        if (result?.acquired) lease = result.lease;
        if (result) observe({ owner, type: result.acquired ? 'acquired' : 'lost' });
        continue;
      }
      const write: LedgerWrite =
        step === 'drop'
          ? null
          : step === 'tombstone'
            ? { kind: 'file', state: 'deleted', syncedAtMs: 1 }
            : presentFile();
      const { rerun } =
        step === 'release'
          ? await ledger.release(id, 'p', lease)
          : await ledger.commit(id, 'p', lease, write);
      lease = undefined;
      observe({ owner, type: 'ended', rerun });
    }
    if (lease) observe({ owner, type: 'ended', ...(await ledger.release(id, 'p', lease)) });
  }

  it('never lets two owners hold the lease and never loses a wanted signal', async () => {
    const step = fc.constantFrom<Step>('commit', 'tombstone', 'drop', 'release');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        async (scripts, choices) => {
          const id = newAssociationId();
          const interleaver = new Interleaver();
          const observed: Observed[] = [];
          const workers = scripts.map((steps, index) => {
            const owner = `w${index}`;
            let lastSeq = 0;
            const ledger = new DynamoLedger({
              client: interleaver.client(client, (seq) => {
                lastSeq = seq;
              }),
              tableName: names.ledger,
            });
            // An operation's effect takes place at its last successful request.
            return () =>
              worker(ledger, id, owner, steps, (event) => observed.push({ ...event, seq: lastSeq }));
          });

          await interleaver.run(workers, choices);

          let holder: string | undefined;
          let asked = false;
          for (const event of observed.sort((a, b) => a.seq - b.seq)) {
            if (event.type === 'acquired') {
              expect(holder).toBeUndefined();
              holder = event.owner;
              asked = false;
            } else if (event.type === 'lost') {
              expect(holder).toBeDefined();
              expect(holder).not.toBe(event.owner);
              asked = true;
            } else {
              expect(event.owner).toBe(holder);
              expect(event.rerun).toBe(asked);
              holder = undefined;
            }
          }
          expect(holder).toBeUndefined();
          expect((await rawRow(id, 'p'))?.leaseOwner).toBeUndefined();
        },
      ),
      { numRuns: 60 },
    );
  });
});

async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}
