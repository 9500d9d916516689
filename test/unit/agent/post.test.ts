import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Poster } from '../../../src/agent/post.ts';
import { Spool, type SpoolEntry } from '../../../src/agent/spool.ts';
import { eventually } from '../../support/bucketlink.ts';

const entry = (n: number): SpoolEntry => ({
  Source: 'bucketlink.agent',
  DetailType: 'File System Change',
  Detail: JSON.stringify({ n }),
  EventBusName: 'bucketlink',
});

/** EventBridge's partial failures (throttled entries) cannot be produced by a local peer: injected here. */
describe('Poster', () => {
  const eventBridge = mockClient(EventBridgeClient);
  let directory: string;
  let poster: Poster | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'bucketlink-post-'));
    eventBridge.reset();
  });
  afterEach(async () => {
    await poster?.close();
    await rm(directory, { recursive: true, force: true });
  });

  const sent = () =>
    eventBridge
      .commandCalls(PutEventsCommand)
      .map((call) => call.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).n as number));

  it('posts at most 10 entries per call and retries only the entries the bus refused', async () => {
    const spool = await Spool.open({ directory });
    await spool.append(Array.from({ length: 13 }, (_, i) => entry(i)));
    let first = true;
    eventBridge.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => {
      const refuse = first ? new Set([2, 7]) : new Set<number>();
      first = false;
      return {
        FailedEntryCount: refuse.size,
        Entries: input.Entries.map((_, i) =>
          refuse.has(i)
            ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }
            : { EventId: `e${i}` },
        ),
      };
    });
    poster = new Poster({ spool, client: new EventBridgeClient({ region: 'us-east-1' }), retryBaseMs: 10 });
    poster.start();
    await eventually(async () => poster!.counters.posted === 13);
    const calls = sent();
    expect(calls[0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The refused entries go again first, in order, before anything new.
    expect(calls[1]).toEqual([2, 7, 10, 11, 12]);
    expect(calls.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 2, 3, 4, 5, 6, 7, 7, 8, 9, 10, 11, 12]);
    expect(poster.counters).toMatchObject({ posted: 13, retried: 2 });
    // Acknowledged durably: a reopened spool holds nothing.
    expect((await Spool.open({ directory })).depth()).toBe(0);
  });

  it('keeps entries spooled through failed calls and backs off until the bus answers', async () => {
    const spool = await Spool.open({ directory });
    await spool.append([entry(1), entry(2)]);
    eventBridge
      .on(PutEventsCommand)
      .rejectsOnce(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' }))
      .rejectsOnce(Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable' }))
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'a' }, { EventId: 'b' }] });
    poster = new Poster({ spool, client: new EventBridgeClient({ region: 'us-east-1' }), retryBaseMs: 10 });
    poster.start();
    await eventually(async () => poster!.counters.posted === 2);
    expect(spool.depth()).toBe(0);
    expect(sent()).toEqual([
      [1, 2],
      [1, 2],
      [1, 2],
    ]);
    expect(poster.counters).toMatchObject({ posted: 2, retried: 4, failedCalls: 2 });
  });
});
