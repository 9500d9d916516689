/**
 * What changed in a bucket since the ledger last saw it, from one listing
 * and nothing else: a merge-join of the sorted listing against the sorted
 * keys the ledger expects. Pure: polling (`bucketlink local --poll`) uses it
 * to find changed keys without a HEAD or a ledger write per key, and an
 * anti-entropy sweep can use it the same way.
 *
 * "Changed" is ETag or size, as plan's echo check judges an event: a
 * metadata-only rewrite that keeps the ETag is not seen here either.
 * LastModified is carried along for the event built from a change.
 */

/** One entry of an S3 listing (ListObjectsV2 Contents). */
export interface ListedKey {
  key: string;
  /** Without quotes. */
  etag: string;
  size: number;
  /** ISO 8601. */
  lastModified: string;
}

/** A key the ledger says S3 held at the last sync, with what it held. */
export interface KnownKey {
  key: string;
  etag: string;
  size: number;
}

export type ListingChange =
  | { change: 'created' | 'changed'; key: string; object: ListedKey }
  | { change: 'deleted'; key: string };

function isSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdfff;
}

/**
 * S3's listing order: UTF-8 bytes, which is code point order. JavaScript's
 * `<` compares UTF-16 units and puts U+10000 and above (surrogate pairs)
 * before U+E000–U+FFFF; this does not.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const sx = isSurrogate(x);
    if (sx !== isSurrogate(y)) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** A copy in listing order. */
export function sortByKey<T extends { key: string }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => compareKeys(a.key, b.key));
}

function assertSorted(items: ReadonlyArray<{ key: string }>, what: string): void {
  for (let i = 1; i < items.length; i++) {
    if (compareKeys(items[i - 1]!.key, items[i]!.key) >= 0)
      throw new Error(`${what} is not sorted by key at ${JSON.stringify(items[i]!.key)}`);
  }
}

function unquoted(etag: string): string {
  return etag.replace(/"/g, '');
}

/**
 * The changed keys, in key order: listed but unknown (`created`), listed
 * with another ETag or size (`changed`), known but not listed (`deleted`).
 * Both inputs must be sorted by {@link compareKeys} with unique keys.
 */
export function diffListing(listing: readonly ListedKey[], known: readonly KnownKey[]): ListingChange[] {
  assertSorted(listing, 'listing');
  assertSorted(known, 'ledger keys');
  const changes: ListingChange[] = [];
  let i = 0;
  let j = 0;
  while (i < listing.length || j < known.length) {
    const object = listing[i];
    const row = known[j];
    const order = !object ? 1 : !row ? -1 : compareKeys(object.key, row.key);
    if (order < 0) {
      changes.push({ change: 'created', key: object!.key, object: object! });
      i++;
    } else if (order > 0) {
      changes.push({ change: 'deleted', key: row!.key });
      j++;
    } else {
      if (unquoted(object!.etag) !== unquoted(row!.etag) || object!.size !== row!.size)
        changes.push({ change: 'changed', key: object!.key, object: object! });
      i++;
      j++;
    }
  }
  return changes;
}
