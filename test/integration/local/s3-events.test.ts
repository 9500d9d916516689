import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Client } from '../../../src/adapters/clients.ts';
import { type S3Event, syncEvent } from '../../../src/core/events.ts';
import { type S3Server, startS3Server } from '../../../src/local/peers.ts';
import { startS3EventSource, toEventBridgeEvent } from '../../../src/local/s3-events.ts';

const BUCKET = 'events';
// Space, '+', an encoded-looking '%41', a lone '%', non-ASCII and '#': all must arrive raw.
const ODD_KEY = 'dir/a b+c%41%/é#.txt';

describe('s3rver events as EventBridge events', () => {
  let directory: string;
  let server: S3Server;
  let s3: S3Client;
  let events: S3Event[];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'bucketlink-s3-events-'));
    server = await startS3Server({ directory });
    s3 = createS3Client({ endpoint: server.endpoint });
    startS3EventSource(server, (event) => events.push(event), {
      account: '111122223333',
      region: 'eu-west-1',
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  });

  afterAll(async () => {
    s3.destroy();
    await server.close();
    await rm(directory, { recursive: true, force: true });
  });

  beforeEach(() => {
    events = [];
  });

  /** s3rver emits during the request; give the loop a turn so late emitters land. */
  async function settle(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }

  it('reports every one of many concurrent deletes in one prefix (aws s3 rm --recursive sends them at once)', async () => {
    const keys = Array.from({ length: 24 }, (_, i) => `bulk-rm/${i}.txt`);
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }));
    await settle();
    events = [];
    // s3rver removes a directory that a delete left empty; a concurrent delete in the same
    // directory then failed its own clean-up with ENOENT and never reported its event.
    await Promise.all(keys.map((Key) => s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key }))));
    await settle();
    const deleted = events.filter((event) => event['detail-type'] === 'Object Deleted');
    expect(deleted.map((event) => event.detail.object.key).sort()).toEqual([...keys].sort());
  });

  function expectValid(event: S3Event): void {
    expect(syncEvent.safeParse(event).success).toBe(true);
    expect(event.version).toBe('0');
    expect(event.account).toBe('111122223333');
    expect(event.region).toBe('eu-west-1');
    expect(event.resources).toEqual([`arn:aws:s3:::${BUCKET}`]);
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(event.detail.version).toBe('0');
    expect(event.detail['request-id']).toMatch(/^[0-9A-F]{16}$/);
    expect(event.detail.requester).toBe('111122223333');
  }

  it('reports PutObject as Object Created with size, unquoted etag and the raw key', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: ODD_KEY, Body: 'hello' }));
    await settle();

    expect(events).toHaveLength(1);
    const [event] = events as [S3Event];
    expectValid(event);
    expect(event['detail-type']).toBe('Object Created');
    expect(event.detail.reason).toBe('PutObject');
    expect(event.detail.object).toMatchObject({
      key: ODD_KEY,
      size: 5,
      etag: '5d41402abc4b2a76b9719d911017c592',
    });
    expect(event.detail.object.sequencer).toMatch(/^[0-9A-F]+$/);
  });

  it('reports CopyObject without an etag', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: ODD_KEY, Body: 'copy me' }));
    events = [];
    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: `${ODD_KEY}.copy`,
        CopySource: encodeURI(`${BUCKET}/${ODD_KEY}`),
      }),
    );
    await settle();

    expect(events).toHaveLength(1);
    const [event] = events as [S3Event];
    expectValid(event);
    expect(event.detail.reason).toBe('CopyObject');
    expect(event.detail.object.key).toBe(`${ODD_KEY}.copy`);
    expect(event.detail.object.size).toBe(7);
    expect(event.detail.object).not.toHaveProperty('etag');
  });

  it('reports a multipart upload once, as CompleteMultipartUpload', async () => {
    const body = Buffer.alloc(6 * 1024 * 1024, 7);
    await new Upload({ client: s3, params: { Bucket: BUCKET, Key: `${ODD_KEY}.big`, Body: body } }).done();
    await settle();

    expect(events).toHaveLength(1);
    const [event] = events as [S3Event];
    expectValid(event);
    expect(event.detail.reason).toBe('CompleteMultipartUpload');
    expect(event.detail.object.key).toBe(`${ODD_KEY}.big`);
    expect(event.detail.object.size).toBe(body.length);
    // s3rver stores a multipart object's ETag as the MD5 of the whole body, not
    // AWS's `<md5 of part md5s>-<parts>`; the event carries what HEAD reports.
    expect(event.detail.object.etag).toBe(createHash('md5').update(body).digest('hex'));
  });

  it('reports DeleteObject as Object Deleted, permanently, without size or etag', async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: ODD_KEY, Body: 'x' }));
    events = [];
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ODD_KEY }));
    await settle();

    expect(events).toHaveLength(1);
    const [event] = events as [S3Event];
    expectValid(event);
    expect(event['detail-type']).toBe('Object Deleted');
    expect(event.detail).toMatchObject({ reason: 'DeleteObject', 'deletion-type': 'Permanently Deleted' });
    expect(event.detail.object).toEqual({ key: ODD_KEY, sequencer: expect.any(String) });
  });

  it('emits one Object Deleted per key of a DeleteObjects request, which s3rver alone does not', async () => {
    const keys = [ODD_KEY, 'dir/second key', 'dir/&<third>.txt'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }));
    events = [];

    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: keys.map((Key) => ({ Key })) } }),
    );
    await settle();

    expect(result.Deleted?.map((d) => d.Key).sort()).toEqual([...keys].sort());
    expect(events.map((e) => e.detail.object.key).sort()).toEqual([...keys].sort());
    for (const event of events) {
      expectValid(event);
      expect(event['detail-type']).toBe('Object Deleted');
      expect(event.detail).toMatchObject({ reason: 'DeleteObjects', 'deletion-type': 'Permanently Deleted' });
    }
    expect(new Set(events.map((e) => e.detail['request-id'])).size).toBe(1);
    const sequencers = events.map((e) => e.detail.object.sequencer);
    expect(new Set(sequencers).size).toBe(3);
  });

  it('never fails an S3 request because an event consumer throws', async () => {
    startS3EventSource(server, () => {
      throw new Error('consumer is broken');
    });

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'still-works', Body: 'x' }));
    const result = await s3.send(
      new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'still-works' }] } }),
    );
    await settle();

    expect(result.Deleted).toHaveLength(1);
    expect(events.map((e) => e.detail.reason)).toEqual(['PutObject', 'DeleteObjects']);
  });
});

describe('toEventBridgeEvent', () => {
  it('accepts a whole notification or one record and refuses unknown event names', () => {
    const record = {
      eventName: 'ObjectCreated:Put',
      eventTime: '2024-05-07T09:31:52.123Z',
      s3: { bucket: { name: 'b' }, object: { key: 'k', size: 1, eTag: '"abc"', sequencer: '1' } },
    };

    const event = toEventBridgeEvent({ Records: [record] });

    expect(event.time).toBe('2024-05-07T09:31:52Z');
    expect(event.detail.object.etag).toBe('abc');
    expect(toEventBridgeEvent(record).detail.object.key).toBe('k');
    expect(() => toEventBridgeEvent({ ...record, eventName: 'ObjectRestore:Post' })).toThrow(/unsupported/);
  });
});
