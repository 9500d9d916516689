import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type PipeRecord, pipeBatch } from '../../../src/core/events.ts';
import { LocalPipe, type PipeTargetResult } from '../../../src/local/pipe.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function event(n: number, pad = 0): { id: string; detail: { n: number; pad: string } } {
  return { id: `e${n}`, detail: { n, pad: 'x'.repeat(pad) } };
}

function bodyOf(record: PipeRecord): { detail: { n: number } } {
  return JSON.parse(record.body);
}

/** A target that records every batch and answers with `respond`. */
function recorder(
  respond: (batch: PipeRecord[]) => PipeTargetResult | Promise<PipeTargetResult> = () => ({}),
) {
  const batches: PipeRecord[][] = [];
  return {
    batches,
    target: async (batch: PipeRecord[]) => {
      batches.push(batch);
      return respond(batch);
    },
  };
}

describe('LocalPipe', () => {
  it('hands the target SQS records exactly as a Pipe does', async () => {
    const { batches, target } = recorder();
    const pipe = new LocalPipe({ target, region: 'eu-west-1', account: '111122223333', queueName: 'q' });

    const id = pipe.send(event(1));
    await pipe.drain();

    const [record] = batches[0]!;
    expect(pipeBatch.safeParse(batches[0]).success).toBe(true);
    expect(record).toMatchObject({
      messageId: id,
      body: JSON.stringify(event(1)),
      md5OfBody: createHash('md5')
        .update(JSON.stringify(event(1)))
        .digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:eu-west-1:111122223333:q',
      awsRegion: 'eu-west-1',
      messageAttributes: {},
      attributes: { ApproximateReceiveCount: '1', SenderId: expect.any(String) },
    });
    expect(record!.attributes!.SentTimestamp).toMatch(/^\d{13}$/);
    expect(record!.attributes!.ApproximateFirstReceiveTimestamp).toMatch(/^\d{13}$/);
    expect(record!.receiptHandle!.length).toBeGreaterThan(20);
  });

  it('fills a batch up to batchSize at once and sends the rest after the window', async () => {
    const { batches, target } = recorder();
    const pipe = new LocalPipe({ target, batchSize: 3, windowMs: 80, concurrency: 1 });

    for (let n = 0; n < 4; n++) pipe.send(event(n));
    await sleep(20);

    expect(batches.map((b) => b.length)).toEqual([3]);
    await sleep(100);
    expect(batches.map((b) => b.length)).toEqual([3, 1]);
    expect(batches.flat().map((r) => bodyOf(r).detail.n)).toEqual([0, 1, 2, 3]);
  });

  it('waits for the window before sending a partial batch', async () => {
    const { batches, target } = recorder();
    const pipe = new LocalPipe({ target, windowMs: 60 });

    pipe.send(event(1));
    await sleep(20);
    pipe.send(event(2));
    await sleep(10);

    expect(batches).toHaveLength(0);
    await pipe.drain();
    expect(batches.map((b) => b.length)).toEqual([2]);
  });

  it('grows the window while records stream in, so a steady 25 records/s travels in fuller batches', async () => {
    const steady = async (maxWindowMs: number) => {
      const { batches, target } = recorder();
      const pipe = new LocalPipe({ target, windowMs: 50, maxWindowMs, batchSize: 10 });
      for (let n = 0; n < 40; n++) {
        pipe.send(event(n));
        await sleep(40);
      }
      await pipe.drain();
      return batches.map((b) => b.length);
    };

    const fixed = await steady(50);
    const grown = await steady(400);

    expect(fixed.reduce((a, b) => a + b)).toBe(40);
    expect(grown.reduce((a, b) => a + b)).toBe(40);
    // 40 ms apart, a 50 ms window holds one or two; a grown one holds several.
    expect(grown.length).toBeLessThan(fixed.length / 2);
  });

  it('sends a lone record after a quiet spell within the base window, however large the window may grow', async () => {
    const delivered: number[] = [];
    const pipe = new LocalPipe({
      target: async () => {
        delivered.push(Date.now());
        return {};
      },
      windowMs: 50,
      maxWindowMs: 5_000,
    });
    for (let n = 0; n < 5; n++) pipe.send(event(n));
    await pipe.drain();
    await sleep(300);

    const sent = Date.now();
    pipe.send(event(99));
    await pipe.drain();

    // The base window and a loaded machine's slack; the grown window would be 500 ms or more.
    expect(delivered.at(-1)! - sent).toBeLessThan(250);
  });

  it('keeps every batch under the byte cap', async () => {
    const { batches, target } = recorder();
    const pipe = new LocalPipe({ target, batchSize: 10, windowMs: 10, maxBatchBytes: 5000 });

    for (let n = 0; n < 6; n++) pipe.send(event(n, 1500));
    await pipe.drain();

    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(Buffer.byteLength(JSON.stringify(batch))).toBeLessThanOrEqual(5000);
    expect(batches.flat()).toHaveLength(6);
  });

  it('dead-letters a message that could never fit a batch instead of dropping it', async () => {
    const dead: string[] = [];
    const { batches, target } = recorder();
    const pipe = new LocalPipe({
      target,
      maxBatchBytes: 1000,
      onDeadLetter: (_r, reason) => dead.push(reason),
    });

    pipe.send(event(1, 2000));
    await pipe.drain();

    expect(batches).toHaveLength(0);
    expect(dead).toEqual([expect.stringMatching(/exceeds the 1000-byte limit/)]);
    expect(pipe.stats().deadLettered).toBe(1);
  });

  it('redelivers only the reported failures, after the visibility timeout, with the receive count raised', async () => {
    let first = true;
    const { batches, target } = recorder((batch) => {
      if (!first) return {};
      first = false;
      return { batchItemFailures: [{ itemIdentifier: batch[1]!.messageId }] };
    });
    const pipe = new LocalPipe({ target, windowMs: 5, visibilityMs: 60 });

    pipe.send(event(0));
    pipe.send(event(1));
    await sleep(30);

    expect(pipe.stats()).toMatchObject({ queued: 1, inFlight: 0, delivered: 1, failed: 1 });
    await pipe.drain();
    expect(batches).toHaveLength(2);
    const [again] = batches[1]!;
    expect(again!.messageId).toBe(batches[0]![1]!.messageId);
    expect(again!.attributes!.ApproximateReceiveCount).toBe('2');
    expect(again!.receiptHandle).not.toBe(batches[0]![1]!.receiptHandle);
    expect(pipe.stats()).toMatchObject({ queued: 0, delivered: 2, failed: 1, deadLettered: 0 });
  });

  it('redelivers the whole batch when the target throws', async () => {
    let calls = 0;
    const { batches, target } = recorder(() => {
      calls++;
      if (calls === 1) throw new Error('execution failed');
      return {};
    });
    const pipe = new LocalPipe({ target, windowMs: 5, visibilityMs: 10 });

    pipe.send(event(0));
    pipe.send(event(1));
    await pipe.drain();

    expect(batches.map((b) => b.map((r) => r.attributes!.ApproximateReceiveCount))).toEqual([
      ['1', '1'],
      ['2', '2'],
    ]);
    expect(pipe.stats()).toMatchObject({ delivered: 2, failed: 2 });
  });

  it('fails the whole batch when a failure names a message the batch does not hold', async () => {
    const dead: string[] = [];
    const { target } = recorder(() => ({ batchItemFailures: [{ itemIdentifier: '' }] }));
    const pipe = new LocalPipe({
      target,
      windowMs: 5,
      visibilityMs: 5,
      maxReceiveCount: 1,
      onDeadLetter: (_r, why) => dead.push(why),
    });

    pipe.send(event(0));
    pipe.send(event(1));
    await pipe.drain();

    expect(dead).toEqual([
      expect.stringMatching(/invalid batchItemFailures/),
      expect.stringMatching(/invalid/),
    ]);
  });

  it('moves a message to the DLQ after maxReceiveCount receives, with the last failure as reason', async () => {
    const dead: Array<{ record: PipeRecord; reason: string }> = [];
    let attempt = 0;
    const { batches, target } = recorder((batch) => {
      attempt++;
      return {
        batchItemFailures: [
          { itemIdentifier: batch[0]!.messageId, code: 'Transient', message: `try ${attempt}` },
        ],
      };
    });
    const pipe = new LocalPipe({
      target,
      windowMs: 5,
      visibilityMs: 10,
      maxReceiveCount: 3,
      onDeadLetter: (record, reason) => dead.push({ record, reason }),
    });

    pipe.send(event(7));
    await pipe.drain();

    expect(batches).toHaveLength(3);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toBe('Transient: try 3');
    expect(bodyOf(dead[0]!.record).detail.n).toBe(7);
    expect(dead[0]!.record.attributes!.ApproximateReceiveCount).toBe('3');
    expect(pipe.stats()).toEqual({ queued: 0, inFlight: 0, delivered: 0, failed: 3, deadLettered: 1 });
  });

  it('never has more than `concurrency` batches in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const pipe = new LocalPipe({
      batchSize: 1,
      windowMs: 0,
      concurrency: 2,
      target: async () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        await sleep(20);
        inFlight--;
        return {};
      },
    });

    for (let n = 0; n < 6; n++) pipe.send(event(n));
    await sleep(5);

    expect(pipe.stats()).toMatchObject({ inFlight: 2, queued: 4 });
    await pipe.drain();
    expect(peak).toBe(2);
    expect(pipe.stats().delivered).toBe(6);
  });

  it('drains at once when idle, and only after in-flight work and redeliveries end', async () => {
    const pipe = new LocalPipe({ target: async () => ({}), windowMs: 5 });
    await pipe.drain();
    expect(pipe.idle()).toBe(true);

    pipe.send(event(1));
    expect(pipe.idle()).toBe(false);
    await pipe.drain();
    expect(pipe.idle()).toBe(true);
    expect(pipe.stats().delivered).toBe(1);
    pipe.close();
    expect(() => pipe.send(event(2))).toThrow(/closed/);
  });
});

describe('LocalPipe defaults', () => {
  it('keeps the batch size of 10 and the 50 ms window when they are passed as undefined', async () => {
    const { batches, target } = recorder();
    const pipe = new LocalPipe({ target, batchSize: undefined, windowMs: undefined, concurrency: undefined });

    for (let n = 0; n < 25; n++) pipe.send(event(n));
    await pipe.drain();

    expect(batches.map((batch) => batch.length)).toEqual([10, 10, 5]);
    expect(batches[0]![0]!.eventSourceARN).toBe('arn:aws:sqs:us-east-1:000000000000:bucketlink-events');
  });
});
