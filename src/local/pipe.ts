import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { PipeRecord } from '../core/events.ts';
import { withDefaults } from '../core/options.ts';

/**
 * The SQS buffer and EventBridge Pipe of the production pipeline, in
 * process: events become SQS messages, are handed to the target in batches
 * exactly as a Pipe hands them (the SQS record array), failed items come
 * back after the visibility timeout with ApproximateReceiveCount raised, and
 * after `maxReceiveCount` receives they go to the dead-letter callback with
 * the last failure's reason. Like a Pipe, a target that throws or reports an
 * item the batch does not hold fails the whole batch.
 */

/** One failed item as the target reports it; `code`/`message`/`reason` are bucketlink's additions, ignored by AWS. */
export interface BatchItemFailure {
  itemIdentifier: string;
  reason?: string;
  code?: string;
  message?: string;
}

/** The target's partial-batch response; null or an empty list means the whole batch succeeded. */
export interface PipeTargetResult {
  batchItemFailures?: BatchItemFailure[] | null;
}

export type PipeTarget = (batch: PipeRecord[]) => Promise<PipeTargetResult | null | undefined>;

export interface LocalPipeOptions {
  target: PipeTarget;
  /** Most records per batch (the Pipe's BatchSize). */
  batchSize?: number;
  /** How long a partial batch waits for more records (MaximumBatchingWindowInSeconds) at low rates. */
  windowMs?: number;
  /**
   * The longest the window grows to while records arrive faster than one per `windowMs`: then
   * waiting a little longer fills the batch, and a change pays a share of an execution instead
   * of a whole one. A lone change after a quiet spell still waits only `windowMs`.
   */
  maxWindowMs?: number;
  /** A batch's serialized size stays under this: the Pipe's invocation payload limit. */
  maxBatchBytes?: number;
  /** Batches in flight at once (8: with 2, single-change batches capped sustained auto-export near 17 files/s). */
  concurrency?: number;
  /** How long a failed message stays invisible before it is received again. */
  visibilityMs?: number;
  /** Receives before a message moves to the dead-letter queue (the redrive policy). */
  maxReceiveCount?: number;
  onDeadLetter?: (record: PipeRecord, reason: string) => void;
  region?: string;
  account?: string;
  queueName?: string;
}

export interface PipeStats {
  queued: number;
  inFlight: number;
  delivered: number;
  failed: number;
  deadLettered: number;
}

interface Message {
  messageId: string;
  body: string;
  md5OfBody: string;
  sentTimestamp: number;
  firstReceiveTimestamp?: number;
  receiveCount: number;
  /** When it last became visible: the batching window counts from here. */
  visibleSince: number;
  /** Serialized record size, for the batch size cap. */
  bytes: number;
  /** What the sender said it is about (the runtime tags an association), for `pending()`. */
  tag?: string;
}

/** Messages not yet delivered or dead-lettered, per tag. */
export interface PendingMessages {
  count: number;
  /** SentTimestamp of the oldest (ms): its age is SQS's ApproximateAgeOfOldestMessage. */
  oldestSentTimestamp: number;
}

/** The documented defaults of LocalPipeOptions. */
export const PIPE_DEFAULTS = {
  batchSize: 10,
  windowMs: 50,
  maxWindowMs: 250,
  maxBatchBytes: 256 * 1024,
  concurrency: 8,
  visibilityMs: 1000,
  maxReceiveCount: 3,
  region: 'us-east-1',
  account: '000000000000',
  queueName: 'bucketlink-events',
};

export class LocalPipe {
  private readonly options: typeof PIPE_DEFAULTS & LocalPipeOptions;
  private readonly ready: Message[] = [];
  private invisible = 0;
  private inFlightMessages = 0;
  private inFlightBatches = 0;
  private counters = { delivered: 0, failed: 0, deadLettered: 0 };
  private windowTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private drainWaiters: Array<() => void> = [];
  /** Every message from send until delivered or dead-lettered. */
  private readonly live = new Map<string, Message>();
  private closed = false;
  /** When the last new message arrived, and the mean gap between arrivals (an EWMA). */
  private lastArrival: number | undefined;
  private arrivalGapMs: number | undefined;

  constructor(options: LocalPipeOptions) {
    this.options = withDefaults(PIPE_DEFAULTS, options);
  }

  /** Enqueues one EventBridge event as an SQS message; returns its message id. */
  send(event: unknown, tag?: string): string {
    if (this.closed) throw new Error('pipe is closed');
    this.observeArrival(Date.now());
    const body = JSON.stringify(event);
    const message: Message = {
      messageId: randomUUID(),
      body,
      md5OfBody: createHash('md5').update(body).digest('hex'),
      sentTimestamp: Date.now(),
      receiveCount: 0,
      visibleSince: Date.now(),
      bytes: 0,
      tag,
    };
    // Receive count and timestamps change little, so one measurement with their widest values is enough.
    message.bytes = Buffer.byteLength(JSON.stringify(this.toRecord({ ...message, receiveCount: 999 })));
    if (message.bytes + 2 > this.options.maxBatchBytes) {
      // SQS would refuse it at SendMessage; the event must still not vanish silently.
      this.deadLetter(
        message,
        `message of ${message.bytes} bytes exceeds the ${this.options.maxBatchBytes}-byte limit`,
      );
      return message.messageId;
    }
    this.ready.push(message);
    this.live.set(message.messageId, message);
    this.pump();
    return message.messageId;
  }

  stats(): PipeStats {
    return {
      queued: this.ready.length + this.invisible,
      inFlight: this.inFlightMessages,
      ...this.counters,
    };
  }

  /** Undelivered messages per tag (untagged ones under ''), walked in send order so the first seen is the oldest. */
  pending(): Map<string, PendingMessages> {
    const byTag = new Map<string, PendingMessages>();
    for (const message of this.live.values()) {
      const tag = message.tag ?? '';
      const entry = byTag.get(tag);
      if (entry) entry.count++;
      else byTag.set(tag, { count: 1, oldestSentTimestamp: message.sentTimestamp });
    }
    return byTag;
  }

  /** True when nothing is queued, waiting for redelivery or in flight. */
  idle(): boolean {
    return this.ready.length === 0 && this.invisible === 0 && this.inFlightMessages === 0;
  }

  /** Resolves once the pipe is idle (failed messages included: they are redelivered or dead-lettered first). */
  drain(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Stops timers and refuses new messages; batches in flight finish. */
  close(): void {
    this.closed = true;
    clearTimeout(this.windowTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private toRecord(message: Message): PipeRecord {
    const { region, account, queueName } = this.options;
    return {
      messageId: message.messageId,
      // A fresh handle per receive, as SQS issues.
      receiptHandle: randomBytes(48).toString('base64'),
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentTimestamp),
        SenderId: 'AIDALOCALBUCKETLINK',
        ApproximateFirstReceiveTimestamp: String(message.firstReceiveTimestamp ?? message.sentTimestamp),
      },
      messageAttributes: {},
      md5OfBody: message.md5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${region}:${account}:${queueName}`,
      awsRegion: region,
    };
  }

  private observeArrival(now: number): void {
    if (this.lastArrival !== undefined) {
      const gap = now - this.lastArrival;
      // A quiet spell ends the stream: the next lone change must not wait for a rate that is gone.
      const streaming = this.arrivalGapMs !== undefined && gap <= 2 * this.options.windowMs;
      this.arrivalGapMs = streaming ? 0.8 * this.arrivalGapMs! + 0.2 * gap : gap;
    }
    this.lastArrival = now;
  }

  /**
   * How long a batch of `count` waits for more: `windowMs` while fewer than one record arrives
   * per two windows; above that, as long as the rest of the batch takes to arrive at the current rate,
   * added to the window and capped at `maxWindowMs`.
   */
  private windowFor(count: number): number {
    const { windowMs, maxWindowMs, batchSize } = this.options;
    const gap = this.arrivalGapMs;
    if (gap === undefined || gap > 2 * windowMs) return windowMs;
    return Math.max(windowMs, Math.min(maxWindowMs, windowMs + (batchSize - count) * gap));
  }

  /** How many ready messages fit the next batch, and whether the byte cap (not the count) stopped it. */
  private nextBatchSize(): { count: number; capped: boolean } {
    let bytes = 2;
    let count = 0;
    for (const message of this.ready) {
      if (count === this.options.batchSize) return { count, capped: false };
      const added = message.bytes + (count > 0 ? 1 : 0);
      if (bytes + added > this.options.maxBatchBytes) return { count, capped: true };
      bytes += added;
      count++;
    }
    return { count, capped: false };
  }

  private pump(): void {
    while (!this.closed && this.inFlightBatches < this.options.concurrency && this.ready.length > 0) {
      const { count, capped } = this.nextBatchSize();
      const waitedMs = Date.now() - this.ready[0]!.visibleSince;
      const windowMs = this.windowFor(count);
      if (count < this.options.batchSize && !capped && waitedMs < windowMs) {
        this.windowTimer ??= setTimeout(() => {
          this.windowTimer = undefined;
          this.pump();
        }, windowMs - waitedMs);
        return;
      }
      void this.deliver(this.ready.splice(0, count));
    }
  }

  private async deliver(batch: Message[]): Promise<void> {
    this.inFlightBatches++;
    this.inFlightMessages += batch.length;
    const now = Date.now();
    const records = batch.map((message) => {
      message.receiveCount++;
      message.firstReceiveTimestamp ??= now;
      return this.toRecord(message);
    });
    let failures: Map<string, string>;
    try {
      failures = this.failuresOf(await this.options.target(records), batch);
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      failures = new Map(batch.map((m) => [m.messageId, reason]));
    }
    this.inFlightBatches--;
    this.inFlightMessages -= batch.length;
    for (const message of batch) {
      const reason = failures.get(message.messageId);
      if (reason === undefined) {
        this.counters.delivered++;
        this.live.delete(message.messageId);
      } else this.fail(message, reason);
    }
    this.pump();
    this.settle();
  }

  /** Reads a partial-batch response the way a Pipe does: any malformed item fails the whole batch. */
  private failuresOf(result: PipeTargetResult | null | undefined, batch: Message[]): Map<string, string> {
    const items = result?.batchItemFailures ?? [];
    const ids = new Set(batch.map((m) => m.messageId));
    const bad = items.find((item) => !item?.itemIdentifier || !ids.has(item.itemIdentifier));
    if (bad !== undefined) {
      const reason = `invalid batchItemFailures entry ${JSON.stringify(bad)}`;
      return new Map(batch.map((m) => [m.messageId, reason]));
    }
    return new Map(
      items.map((item) => [
        item.itemIdentifier,
        item.reason ??
          ([item.code, item.message].filter(Boolean).join(': ') || 'reported in batchItemFailures'),
      ]),
    );
  }

  private fail(message: Message, reason: string): void {
    this.counters.failed++;
    if (message.receiveCount >= this.options.maxReceiveCount) {
      this.deadLetter(message, reason);
      return;
    }
    this.invisible++;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.invisible--;
      message.visibleSince = Date.now();
      this.ready.push(message);
      this.pump();
    }, this.options.visibilityMs);
    this.timers.add(timer);
  }

  private deadLetter(message: Message, reason: string): void {
    this.counters.deadLettered++;
    this.live.delete(message.messageId);
    try {
      this.options.onDeadLetter?.(this.toRecord(message), reason);
    } catch {
      // A failing callback must not wedge the pipe; the message is counted as dead-lettered either way.
    }
  }

  private settle(): void {
    if (!this.idle()) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
