import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareKeys,
  diffListing,
  type KnownKey,
  type ListedKey,
  type ListingChange,
  sortByKey,
} from '../../../src/sync/listing-diff.ts';

/** Keys drawn from characters that stress ordering: ASCII, `/`, Latin-1, U+E000–U+FFFF and astral code points. */
const keyArb = fc
  .array(fc.constantFrom('a', 'b', '/', ' ', '+', '%', '#', 'é', '日', '\uE000', '\uFFFD', '😀', '𝄞', '0'), {
    minLength: 1,
    maxLength: 6,
  })
  .map((chars) => chars.join(''));

const etagArb = fc.constantFrom('e1', 'e2', '"e1"', 'e3-2');
const sizeArb = fc.integer({ min: 0, max: 3 });

/** A bucket and a ledger that partly agree. */
const worldArb = fc
  .uniqueArray(
    fc.record({
      key: keyArb,
      listed: fc.option(fc.record({ etag: etagArb, size: sizeArb }), { nil: undefined }),
      known: fc.option(fc.record({ etag: etagArb, size: sizeArb }), { nil: undefined }),
    }),
    { selector: (entry) => entry.key, maxLength: 40 },
  )
  .map((entries) => ({
    listing: entries.flatMap(({ key, listed }) =>
      listed ? [{ key, ...listed, lastModified: '2026-01-01T00:00:00.000Z' }] : [],
    ) as ListedKey[],
    known: entries.flatMap(({ key, known }) => (known ? [{ key, ...known }] : [])) as KnownKey[],
  }));

/** The reference: by map lookups, no ordering involved. */
function modelDiff(listing: ListedKey[], known: KnownKey[]): Map<string, ListingChange['change']> {
  const changes = new Map<string, ListingChange['change']>();
  const byKey = new Map(known.map((row) => [row.key, row]));
  const bare = (etag: string) => etag.replace(/"/g, '');
  for (const object of listing) {
    const row = byKey.get(object.key);
    if (!row) changes.set(object.key, 'created');
    else if (bare(row.etag) !== bare(object.etag) || row.size !== object.size)
      changes.set(object.key, 'changed');
  }
  const listed = new Set(listing.map((object) => object.key));
  for (const row of known) if (!listed.has(row.key)) changes.set(row.key, 'deleted');
  return changes;
}

/** UTF-8 byte order, the way S3 lists. */
function utf8Order(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

describe('diffListing (merge-join of a sorted listing against the ledger)', () => {
  it('finds exactly the keys a lookup-based diff finds, in listing order', () => {
    fc.assert(
      fc.property(worldArb, ({ listing, known }) => {
        const changes = diffListing(sortByKey(listing), sortByKey(known));
        const model = modelDiff(listing, known);
        expect(new Map(changes.map((c) => [c.key, c.change]))).toEqual(model);
        expect(changes.length).toBe(model.size);
        const keys = changes.map((c) => c.key);
        expect(keys).toEqual([...keys].sort(utf8Order));
      }),
      { numRuns: 500 },
    );
  });

  it('reports nothing when the listing is what the ledger remembers', () => {
    fc.assert(
      fc.property(worldArb, ({ listing }) => {
        const sorted = sortByKey(listing);
        expect(
          diffListing(
            sorted,
            sorted.map(({ key, etag, size }) => ({ key, etag, size })),
          ),
        ).toEqual([]);
      }),
    );
  });

  it('a changed or created entry carries the listed object', () => {
    fc.assert(
      fc.property(worldArb, ({ listing, known }) => {
        const listed = new Map(listing.map((o) => [o.key, o]));
        for (const change of diffListing(sortByKey(listing), sortByKey(known))) {
          if (change.change === 'deleted') expect(listed.has(change.key)).toBe(false);
          else expect(change.object).toBe(listed.get(change.key));
        }
      }),
    );
  });

  it('orders keys as S3 does (UTF-8 bytes), not as JavaScript compares UTF-16 units', () => {
    fc.assert(
      fc.property(keyArb, keyArb, (a, b) => {
        expect(Math.sign(compareKeys(a, b))).toBe(Math.sign(utf8Order(a, b)));
      }),
    );
    // U+E000 is one UTF-16 unit above the surrogates in JavaScript's order, below 😀 in S3's.
    expect(compareKeys('\uE000', '😀')).toBeLessThan(0);
    expect('\uE000' < '😀').toBe(false);
  });

  it('refuses unsorted input instead of reporting wrong changes', () => {
    const object = (key: string): ListedKey => ({ key, etag: 'e', size: 1, lastModified: '' });
    expect(() => diffListing([object('b'), object('a')], [])).toThrow(/not sorted/);
    expect(() =>
      diffListing(
        [],
        [
          { key: 'a', etag: 'e', size: 1 },
          { key: 'a', etag: 'e', size: 1 },
        ],
      ),
    ).toThrow(/not sorted/);
  });
});
