import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TOMBSTONE_TTL_MS } from '../../../src/adapters/ledger-items.ts';
import type { Lease, Ledger, LedgerWrite } from '../../../src/adapters/ports.ts';
import { LedgerConflictError } from '../../../src/core/errors.ts';

/**
 * The Ledger port's contract (docs/architecture.md §2.3), run against every
 * implementation: DynamoLedger on dynalite (ledger.test.ts) and SqliteLedger
 * on a file and in memory (ledger-sqlite.test.ts). Each implementation hands
 * in a factory and a way to look at what it stored beyond what readers see.
 */
export interface LedgerUnderTest {
  /** A ledger over the shared store whose clock the test sets. */
  ledger(now: () => number): Ledger;
  /** The stored row's lease, `wanted`, index and expiry fields; undefined when no row exists. */
  inspect(associationId: string, path: string): Promise<StoredLease | undefined>;
}

/** What a test may see of a stored row beyond the LedgerEntry readers get. */
export interface StoredLease {
  leaseOwner?: string;
  wanted: number;
  /** The inode the row is findable by (present rows only). */
  ino?: string;
  expiresAt?: number;
}

const TTL = 60_000;

export const newAssociationId = () => `dra-${randomBytes(9).toString('hex').slice(0, 17)}`;

export function presentFile(ino = '42', syncedAtMs = 1_000): NonNullable<LedgerWrite> {
  return {
    kind: 'file',
    state: 'present',
    syncedAtMs,
    fs: { size: 3, mtimeNs: '1700000000000000000', ctimeNs: '1700000000000000001', ino, mode: 0o100644 },
    s3: { etag: 'abc', lastModified: '2024-01-01T00:00:00.000Z', size: 3, metaHash: 'm1' },
  };
}

export async function collect<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const all: T[] = [];
  for await (const page of pages) all.push(...page);
  return all;
}

export function ledgerContract(name: string, subject: () => LedgerUnderTest) {
  /** A ledger whose clock the test moves. */
  function ledgerAt(start = 1_700_000_000_000) {
    const clock = { now: start };
    return { ledger: subject().ledger(() => clock.now), clock };
  }
  const inspect = (id: string, path: string) => subject().inspect(id, path);

  async function mustAcquire(ledger: Ledger, id: string, path: string, owner: string): Promise<Lease> {
    const result = await ledger.acquire(id, path, owner, TTL);
    if (!result.acquired) throw new Error(`${owner} did not get the lease on ${path}`);
    return result.lease;
  }

  describe(`${name}: rows`, () => {
    it('returns undefined for a path never synced', async () => {
      const { ledger } = ledgerAt();
      expect(await ledger.get(newAssociationId(), 'nothing/here')).toBeUndefined();
    });

    it('reads back what a commit wrote, at rev 1, with the lease gone and the row findable by inode', async () => {
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
      const row = await inspect(id, 'docs/a.txt');
      expect(row?.leaseOwner).toBeUndefined();
      expect(row?.ino).toBe('42');
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

    it('refuses a first commit when another worker created the row meanwhile', async () => {
      const { ledger } = ledgerAt();
      const id = newAssociationId();
      const lease = await mustAcquire(ledger, id, 'n', 'w1');
      await ledger.commit(id, 'n', lease, presentFile());
      const again = await mustAcquire(ledger, id, 'n', 'w1');
      await expect(ledger.commit(id, 'n', { ...again, rev: 0 }, presentFile('9'))).rejects.toBeInstanceOf(
        LedgerConflictError,
      );
    });

    it('hides a tombstone from readers once it has expired', async () => {
      const { ledger, clock } = ledgerAt();
      const id = newAssociationId();
      const lease = await mustAcquire(ledger, id, 'gone', 'w1');
      await ledger.commit(id, 'gone', lease, { kind: 'file', state: 'deleted', syncedAtMs: clock.now });

      const tombstone = await ledger.get(id, 'gone');
      expect(tombstone?.state).toBe('deleted');
      expect(tombstone?.expiresAt).toBe(Math.ceil((clock.now + TOMBSTONE_TTL_MS) / 1000));
      expect((await inspect(id, 'gone'))?.ino).toBeUndefined();

      clock.now += TOMBSTONE_TTL_MS + 1_000;
      expect(await ledger.get(id, 'gone')).toBeUndefined();
      expect(await ledger.getMany(id, ['gone'])).toEqual([undefined]);
      expect(await collect(ledger.list(id))).toEqual([]);
      const next = await mustAcquire(ledger, id, 'gone', 'w2');
      expect(next.base).toBeUndefined();
      // The expired row still exists until TTL removes it, so the next commit is conditioned on its rev.
      expect(next.rev).toBe(1);
      await ledger.commit(id, 'gone', next, presentFile());
      expect(await ledger.get(id, 'gone')).toMatchObject({ state: 'present', rev: 2 });
      expect((await inspect(id, 'gone'))?.expiresAt).toBeUndefined();
    });

    it('drops a row on a null write', async () => {
      const { ledger } = ledgerAt();
      const id = newAssociationId();
      await ledger.commit(id, 'x', await mustAcquire(ledger, id, 'x', 'w1'), presentFile());
      await ledger.commit(id, 'x', await mustAcquire(ledger, id, 'x', 'w1'), null);
      expect(await inspect(id, 'x')).toBeUndefined();
      expect(await ledger.get(id, 'x')).toBeUndefined();
    });

    it('finds present rows by inode, not tombstones and not other associations', async () => {
      const { ledger } = ledgerAt();
      const id = newAssociationId();
      await ledger.commit(
        id,
        'old/name',
        await mustAcquire(ledger, id, 'old/name', 'w1'),
        presentFile('777'),
      );
      await ledger.commit(id, 'other', await mustAcquire(ledger, id, 'other', 'w1'), presentFile('778'));
      await ledger.commit(id, 'was', await mustAcquire(ledger, id, 'was', 'w1'), presentFile('777'));
      await ledger.commit(id, 'was', await mustAcquire(ledger, id, 'was', 'w1'), {
        kind: 'file',
        state: 'deleted',
        syncedAtMs: 1,
      });
      const found = await ledger.findByIno(id, '777');
      expect(found.map((entry) => entry.path)).toEqual(['old/name']);
      expect(await ledger.findByIno(newAssociationId(), '777')).toEqual([]);
    });

    it('reads many rows in the order asked, repeats and absent paths included', async () => {
      const { ledger } = ledgerAt();
      const id = newAssociationId();
      const paths = Array.from({ length: 130 }, (_, i) => `d${i % 7}/f${i}`);
      for (const path of paths.slice(0, 120))
        await ledger.commit(
          id,
          path,
          await mustAcquire(ledger, id, path, 'w'),
          presentFile(String(paths.indexOf(path))),
        );
      const asked = [paths[125]!, ...paths, paths[3]!];
      const rows = await ledger.getMany(id, asked);
      expect(rows.map((row) => row?.path)).toEqual(
        asked.map((path) => (paths.indexOf(path) < 120 ? path : undefined)),
      );
      expect(rows[4]?.fs?.ino).toBe('3');
    });
  });

  describe(`${name}: leases`, () => {
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
      expect(await inspect(id, 'tmp')).toBeUndefined();

      const lease = await mustAcquire(ledger, id, 'tmp', 'w1');
      await ledger.acquire(id, 'tmp', 'w2', TTL);
      expect(await ledger.release(id, 'tmp', lease)).toEqual({ rerun: true });
      expect(await inspect(id, 'tmp')).toMatchObject({ wanted: 1 });
      const retry = await mustAcquire(ledger, id, 'tmp', 'w1');
      expect(await ledger.release(id, 'tmp', retry)).toEqual({ rerun: false });
      expect(await inspect(id, 'tmp')).toBeUndefined();
    });

    it('gives the lease to exactly one of 20 concurrent owners, and the holder sees the others', async () => {
      const { ledger } = ledgerAt();
      const id = newAssociationId();
      const owners = Array.from({ length: 20 }, (_, i) => `w${i}`);

      const results = await Promise.all(owners.map((owner) => ledger.acquire(id, 'hot', owner, TTL)));

      const winners = results.flatMap((result) => (result.acquired ? [result.lease] : []));
      expect(winners).toHaveLength(1);
      expect(await ledger.commit(id, 'hot', winners[0]!, presentFile())).toEqual({ rerun: true });
      expect((await inspect(id, 'hot'))?.wanted).toBe(19);
    });
  });

  describe(`${name}: list and clear`, () => {
    it('lists every live row of one association, and clear removes them all', async () => {
      const { ledger } = ledgerAt();
      const id = newAssociationId();
      const other = newAssociationId();
      const paths = Array.from({ length: 60 }, (_, i) => `d${i % 20}/f${i}`);
      for (const path of paths)
        await ledger.commit(id, path, await mustAcquire(ledger, id, path, 'w'), presentFile());
      await ledger.commit(other, 'd0/f0', await mustAcquire(ledger, other, 'd0/f0', 'w'), presentFile());
      await mustAcquire(ledger, id, 'lease/only', 'w');

      const listed = await collect(ledger.list(id));
      expect(listed.map((entry) => entry.path).sort()).toEqual([...paths].sort());
      expect(listed.every((entry) => entry.associationId === id)).toBe(true);

      await ledger.clear(id);
      expect(await collect(ledger.list(id))).toEqual([]);
      expect(await inspect(id, 'lease/only')).toBeUndefined();
      expect(await ledger.get(other, 'd0/f0')).toBeDefined();
    });
  });
}
