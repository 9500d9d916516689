import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type PipeRecord,
  pipeBatch,
  s3ObjectCreatedEvent,
  s3ObjectDeletedEvent,
  syncEvent,
} from '../../../src/core/events.ts';
import { LocalPipe } from '../../../src/local/pipe.ts';
import { toEventBridgeEvent } from '../../../src/local/s3-events.ts';

/**
 * Contract: AWS's own documented examples (test/fixtures/aws, copied from the
 * docs) pass bucketlink's schemas, and local mode produces the same fields,
 * so what is green locally is green on AWS.
 */

function awsFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/aws/${name}`, import.meta.url), 'utf8')) as T;
}

/** Dotted paths of every leaf and object field, e.g. `detail.object.key`. */
function fieldPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([key, child]) => fieldPaths(child, prefix ? `${prefix}.${key}` : key));
}

const created = awsFixture('s3-object-created.json');
const deleted = awsFixture('s3-object-deleted.json');
const expired = awsFixture('s3-object-deleted-lifecycle.json');

describe("AWS's documented S3 events", () => {
  it.each([
    ['Object Created', created, s3ObjectCreatedEvent],
    ['Object Deleted (DeleteObject)', deleted, s3ObjectDeletedEvent],
    ['Object Deleted (lifecycle expiration)', expired, s3ObjectDeletedEvent],
  ])('%s validates against the schemas', (_name, example, schema) => {
    expect(schema.safeParse(example).success).toBe(true);
    expect(syncEvent.safeParse(example).success).toBe(true);
  });

  it('local Object Created has the fields AWS sends, versioning aside', () => {
    const local = toEventBridgeEvent({
      eventName: 'ObjectCreated:Put',
      eventTime: new Date().toISOString(),
      requestParameters: { sourceIPAddress: '127.0.0.1' },
      s3: { bucket: { name: 'b' }, object: { key: 'k', size: 5, eTag: '"abc"', sequencer: '1' } },
    });

    const aws = fieldPaths(created).filter((path) => path !== 'detail.object.version-id');
    expect(fieldPaths(local).sort()).toEqual(aws.sort());
  });

  it('local Object Deleted has the fields AWS sends for an unversioned bucket', () => {
    const local = toEventBridgeEvent({
      eventName: 'ObjectRemoved:Delete',
      eventTime: new Date().toISOString(),
      s3: { bucket: { name: 'b' }, object: { key: 'k', sequencer: '1' } },
    });

    // No size on deletes, ever; etag and version-id only where the bucket is versioned.
    const optional = new Set(['detail.object.etag', 'detail.object.version-id']);
    const aws = fieldPaths(deleted).filter((path) => !optional.has(path));
    expect(fieldPaths(local).sort()).toEqual(aws.sort());
    expect(local.detail).toMatchObject({ 'deletion-type': 'Permanently Deleted' });
  });
});

describe("AWS's documented Pipe batch of SQS records", () => {
  const batch = awsFixture<PipeRecord[]>('pipe-sqs-batch.json');

  it('validates against the pipe batch schema', () => {
    expect(pipeBatch.safeParse(batch).success).toBe(true);
  });

  it('carries an EventBridge event as a JSON body the sync schemas read', () => {
    const withEvents = batch.map((record, i) => ({
      ...record,
      body: JSON.stringify(i === 0 ? created : deleted),
    }));

    const parsed = pipeBatch.parse(withEvents);

    for (const record of parsed) expect(syncEvent.safeParse(JSON.parse(record.body)).success).toBe(true);
  });

  it('has exactly the record fields the local pipe produces', async () => {
    const received: PipeRecord[][] = [];
    const pipe = new LocalPipe({ target: async (records) => void received.push(records), windowMs: 0 });

    pipe.send(created);
    await pipe.drain();

    const [local] = received[0]!;
    expect(fieldPaths(local).sort()).toEqual(fieldPaths(batch[0]).sort());
  });
});
