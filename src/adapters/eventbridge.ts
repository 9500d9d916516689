import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../core/errors.ts';
import type { EventPublisher, SyncConflict } from './ports.ts';

export const CONFLICT_SOURCE = 'bucketlink.sync';
export const CONFLICT_DETAIL_TYPE = 'Sync Conflict';

/** Publishes bucketlink's own events to its EventBridge bus. */
export class EventBridgePublisher implements EventPublisher {
  readonly #client: EventBridgeClient;
  readonly #busName: string;

  constructor(options: { client: EventBridgeClient; busName: string }) {
    this.#client = options.client;
    this.#busName = options.busName;
  }

  async publishConflict(conflict: SyncConflict): Promise<void> {
    const response = await this.#client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: this.#busName,
            Source: CONFLICT_SOURCE,
            DetailType: CONFLICT_DETAIL_TYPE,
            Detail: JSON.stringify(conflict),
          },
        ],
      }),
    );
    if (response.FailedEntryCount) {
      throw new TransientError(
        `conflict event not accepted: ${response.Entries?.[0]?.ErrorMessage ?? 'unknown'}`,
      );
    }
  }
}

/** In-process publisher for local mode: hands conflicts to a callback (counters, log). */
export class CallbackPublisher implements EventPublisher {
  constructor(private readonly onConflict: (conflict: SyncConflict) => void) {}

  async publishConflict(conflict: SyncConflict): Promise<void> {
    this.onConflict(conflict);
  }
}
