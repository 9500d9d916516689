/**
 * Transfers over time, kept per second for the last 15 minutes in a ring
 * (900 slots), so the status page and `bucketlink status` can draw a rate
 * without the runtime keeping every event.
 */

export const HISTORY_SECONDS = 900;

export class TransferHistory {
  readonly #counts = new Uint32Array(HISTORY_SECONDS);
  /** The second (since the epoch) each slot currently counts; a stale slot reads as 0. */
  readonly #seconds = new Float64Array(HISTORY_SECONDS);

  record(now = Date.now(), count = 1): void {
    const second = Math.floor(now / 1000);
    const slot = second % HISTORY_SECONDS;
    if (this.#seconds[slot] !== second) {
      this.#seconds[slot] = second;
      this.#counts[slot] = 0;
    }
    this.#counts[slot]! += count;
  }

  /** Transfers per second, oldest first, in buckets of `bucketSeconds` (averaged), ending with the current second. */
  perSecond(now = Date.now(), bucketSeconds = 1): number[] {
    const current = Math.floor(now / 1000);
    const buckets = Math.ceil(HISTORY_SECONDS / bucketSeconds);
    const series = new Array<number>(buckets).fill(0);
    for (let age = 0; age < HISTORY_SECONDS; age++) {
      const second = current - age;
      const slot = second % HISTORY_SECONDS;
      if (this.#seconds[slot] !== second) continue;
      series[buckets - 1 - Math.floor(age / bucketSeconds)]! += this.#counts[slot]! / bucketSeconds;
    }
    return series;
  }

  /** Transfers in the last `seconds` seconds. */
  total(now = Date.now(), seconds = HISTORY_SECONDS): number {
    const current = Math.floor(now / 1000);
    let sum = 0;
    for (let age = 0; age < Math.min(seconds, HISTORY_SECONDS); age++) {
      const slot = (current - age) % HISTORY_SECONDS;
      if (this.#seconds[slot] === current - age) sum += this.#counts[slot]!;
    }
    return sum;
  }
}

/** What one association did since the runtime started. */
export class AssociationActivity {
  readonly transfers = { imports: 0, exports: 0, objectDeletes: 0, fileDeletes: 0, copies: 0 };
  readonly bytes = { imported: 0, exported: 0 };
  conflicts = 0;
  failed = 0;
  readonly history = new TransferHistory();
  /** Deletes only, for the delete budget's view. */
  readonly deletes = new TransferHistory();
  lastTransferAt: string | undefined;
}
