import { PutEventsCommand, type PutEventsCommandOutput } from '@aws-sdk/client-eventbridge';
import { withDefaults } from '../core/options.ts';
import { logger } from '../log.ts';
import type { Spool, SpooledRecord } from './spool.ts';

/** PutEvents takes at most 10 entries per call. */
export const MAX_ENTRIES_PER_CALL = 10;

export interface PosterCounters {
  /** Entries the bus accepted. */
  posted: number;
  /** Entries sent again after a failed call or a FailedEntryCount entry. */
  retried: number;
  /** Calls that failed outright (connection refused, 5xx, timeout). */
  failedCalls: number;
}

/** The one call the poster makes (an EventBridgeClient, or a test double injecting faults). */
export interface PutEventsClient {
  send(command: PutEventsCommand): Promise<PutEventsCommandOutput>;
}

export interface PosterOptions {
  spool: Spool;
  client: PutEventsClient;
  /** First retry delay; doubles per consecutive failure up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** The first retry waits 200 ms, doubling per consecutive failure up to 5 s. */
export const POSTER_DEFAULTS = { retryBaseMs: 200, retryMaxMs: 5_000 };

/**
 * Posts spooled entries to EventBridge in order, ≤ 10 per PutEvents call,
 * and acknowledges each entry in the spool only once the bus accepted it.
 * Entries the bus refused (`FailedEntryCount`) and calls that failed stay
 * pending and are retried with exponential backoff; one call is in flight
 * at a time, so a crash re-sends at most that call's entries.
 */
export class Poster {
  readonly counters: PosterCounters = { posted: 0, retried: 0, failedCalls: 0 };
  readonly #options: Required<PosterOptions>;
  readonly #attempted = new Set<number>();
  #failures = 0;
  #wake: (() => void) | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(options: PosterOptions) {
    this.#options = withDefaults(POSTER_DEFAULTS, options);
  }

  /** Starts the posting loop (replaying whatever the spool holds). */
  start(): void {
    this.#running ??= this.#loop();
  }

  /** Tells the loop new entries were spooled. */
  notify(): void {
    this.#wake?.();
  }

  /** Stops after the call in flight; pending entries stay in the spool. */
  async close(): Promise<void> {
    this.#closed = true;
    this.notify();
    await this.#running;
  }

  async #loop(): Promise<void> {
    while (!this.#closed) {
      const batch = this.#options.spool.pending().slice(0, MAX_ENTRIES_PER_CALL);
      if (!batch.length) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const ok = await this.#post(batch);
      if (ok) {
        this.#failures = 0;
        continue;
      }
      this.#failures++;
      const delay = Math.min(this.#options.retryMaxMs, this.#options.retryBaseMs * 2 ** (this.#failures - 1));
      // Jitter so many agents recovering from one outage do not post in lockstep.
      await this.#sleep(delay / 2 + Math.random() * (delay / 2));
    }
  }

  /** Posts one call; true when every entry was accepted. */
  async #post(batch: SpooledRecord[]): Promise<boolean> {
    for (const record of batch) {
      if (this.#attempted.has(record.id)) this.counters.retried++;
      else this.#attempted.add(record.id);
    }
    let response: PutEventsCommandOutput;
    try {
      response = await this.#options.client.send(
        new PutEventsCommand({ Entries: batch.map((record) => record.entry) }),
      );
    } catch (error) {
      this.counters.failedCalls++;
      logger.warn('agent post failed', { entries: batch.length, error: (error as Error).message });
      return false;
    }
    const accepted: number[] = [];
    const refused: string[] = [];
    batch.forEach((record, index) => {
      const result = response.Entries?.[index];
      if (result?.ErrorCode) refused.push(`${result.ErrorCode}: ${result.ErrorMessage ?? ''}`);
      else if (result) accepted.push(record.id);
    });
    await this.#options.spool.ack(accepted);
    for (const id of accepted) this.#attempted.delete(id);
    this.counters.posted += accepted.length;
    if (refused.length) logger.warn('agent entries refused', { refused: refused.length, first: refused[0] });
    return accepted.length === batch.length;
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        // Closing cuts the backoff short; new entries do not (the bus is still down).
        if (this.#closed) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
  }
}
