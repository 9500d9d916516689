import { describe, expect, it } from 'vitest';
import type { BudgetWindow, DeleteBudgetStore } from '../../../src/adapters/ports.ts';
import { newAssociationId } from './ledger-contract.ts';

/**
 * The DeleteBudgetStore port's contract, run against every implementation:
 * DynamoDeleteBudgetStore on dynalite and MemoryDeleteBudgetStore
 * (delete-budget-store.test.ts). `worker()` hands out one store per worker,
 * all over the same counters, as separate Lambda invocations would hold.
 */
export function deleteBudgetStoreContract(name: string, worker: () => DeleteBudgetStore) {
  const EXPIRES = 1_800_000_000;
  const windowOf = (window = 2_800_000): BudgetWindow => ({ associationId: newAssociationId(), window });

  describe(`DeleteBudgetStore contract: ${name}`, () => {
    it('reads nothing for a window never written', async () => {
      expect(await worker().read(windowOf())).toBeUndefined();
    });

    it('keeps the first size recorded for a window, and says so to a later recorder', async () => {
      const key = windowOf();
      expect(await worker().recordPaths(key, 10, EXPIRES)).toBe(10);
      expect(await worker().recordPaths(key, 99, EXPIRES)).toBe(10);
      expect(await worker().read(key)).toEqual({ paths: 10, deletes: 0 });
    });

    it('gives every concurrent recorder the one figure that was kept', async () => {
      const key = windowOf();
      const figures = await Promise.all(
        Array.from({ length: 8 }, (_, i) => worker().recordPaths(key, 100 + i, EXPIRES)),
      );
      expect(new Set(figures).size).toBe(1);
      expect(figures[0]).toBeGreaterThanOrEqual(100);
      expect(figures[0]).toBeLessThan(108);
      expect((await worker().read(key))?.paths).toBe(figures[0]);
    });

    it('charges up to the limit, then refuses without counting', async () => {
      const key = windowOf();
      const store = worker();
      await store.recordPaths(key, 6, EXPIRES);
      const answers: boolean[] = [];
      for (let i = 0; i < 5; i++) answers.push(await store.charge(key, 3, EXPIRES));
      expect(answers).toEqual([true, true, true, false, false]);
      expect(await store.read(key)).toEqual({ paths: 6, deletes: 3 });
      // The limit is the caller's: a higher one lets the window take more.
      expect(await store.charge(key, 4, EXPIRES)).toBe(true);
      expect((await store.read(key))?.deletes).toBe(4);
    });

    it('lets exactly `limit` of many concurrent charges through, from many workers', async () => {
      const key = windowOf();
      await worker().recordPaths(key, 40, EXPIRES);
      const answers = await Promise.all(Array.from({ length: 50 }, () => worker().charge(key, 20, EXPIRES)));
      expect(answers.filter(Boolean)).toHaveLength(20);
      expect(await worker().read(key)).toEqual({ paths: 40, deletes: 20 });
    });

    it('counts each association and window apart', async () => {
      const key = windowOf(7);
      const nextWindow = { ...key, window: 8 };
      const other = { ...windowOf(7) };
      await worker().recordPaths(key, 5, EXPIRES);
      expect(await worker().charge(key, 1, EXPIRES)).toBe(true);
      expect(await worker().charge(key, 1, EXPIRES)).toBe(false);
      expect(await worker().charge(nextWindow, 1, EXPIRES)).toBe(true);
      expect(await worker().charge(other, 1, EXPIRES)).toBe(true);
      expect((await worker().read(key))?.deletes).toBe(1);
      expect(await worker().read(nextWindow)).toEqual({ deletes: 1 });
    });

    it('forgets a cleared window: its size and deletes, so charges go through again', async () => {
      const key = windowOf();
      await worker().recordPaths(key, 4, EXPIRES);
      expect(await worker().charge(key, 1, EXPIRES)).toBe(true);
      expect(await worker().charge(key, 1, EXPIRES)).toBe(false);
      await worker().clear(key);
      expect(await worker().read(key)).toBeUndefined();
      expect(await worker().recordPaths(key, 9, EXPIRES)).toBe(9);
      expect(await worker().charge(key, 1, EXPIRES)).toBe(true);
      await worker().clear(windowOf()); // clearing a window never written is no error
    });
  });
}
