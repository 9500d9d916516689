import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeNotificationKey, readQueueMessage } from '../../../src/local/queue-messages.ts';

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/aws/${name}`, import.meta.url), 'utf8');

/** A classic record for `key` as S3 encodes it. */
function notification(encodedKey: string, eventName = 'ObjectCreated:Put') {
  const body = JSON.parse(fixture('s3-notification-put.json'));
  body.Records[0].eventName = eventName;
  body.Records[0].s3.object.key = encodedKey;
  return JSON.stringify(body);
}

describe('readQueueMessage (both shapes S3 changes take in a queue)', () => {
  it('reads an EventBridge Object Created event, key raw', () => {
    const event = JSON.parse(fixture('s3-object-created.json'));
    event.detail.object.key = 'dir/a b+c%20#ü.txt';
    const read = readQueueMessage(JSON.stringify(event));
    expect(read).toMatchObject({ kind: 's3', events: [{ 'detail-type': 'Object Created' }] });
    expect(read.kind === 's3' && read.events[0]!.detail.object.key).toBe('dir/a b+c%20#ü.txt');
  });

  it('reads a classic S3 notification as the EventBridge event, etag, size and version kept', () => {
    const read = readQueueMessage(fixture('s3-notification-put.json'));
    expect(read.kind === 's3' && read.events[0]).toMatchObject({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      detail: {
        bucket: { name: 'amzn-s3-demo-bucket' },
        object: {
          key: 'HappyFace.jpg',
          size: 1024,
          etag: 'd41d8cd98f00b204e9800998ecf8427e',
          'version-id': '096fKKXTRTtl3on89fVO.nfljtsv6qko',
        },
      },
    });
  });

  it.each([
    // AWS leaves `/` alone; moto encodes it too. `+` is a space, %2B a plus.
    ['dir/a+b%2Bc%25d%23e.txt', 'dir/a b+c%d#e.txt'],
    ['dir%2Fa+b%2Bc.txt', 'dir/a b+c.txt'],
    ['%C3%BCn%C3%AF/%E6%97%A5%E6%9C%AC+%E8%AA%9E.txt', 'ünï/日本 語.txt'],
  ])('decodes the classic key %s to %s', (encoded, raw) => {
    expect(decodeNotificationKey(encoded)).toBe(raw);
    const read = readQueueMessage(notification(encoded));
    expect(read.kind === 's3' && read.events[0]!.detail.object.key).toBe(raw);
  });

  it('reads classic deletes, delete markers included', () => {
    const deleted = readQueueMessage(notification('a.txt', 'ObjectRemoved:Delete'));
    expect(deleted.kind === 's3' && deleted.events[0]).toMatchObject({ 'detail-type': 'Object Deleted' });
    const marker = readQueueMessage(notification('a.txt', 'ObjectRemoved:DeleteMarkerCreated'));
    expect(marker.kind === 's3' && marker.events[0]).toMatchObject({
      'detail-type': 'Object Deleted',
      detail: { 'deletion-type': 'Delete Marker Created' },
    });
  });

  it('ignores s3:TestEvent, other detail-types and other record kinds', () => {
    expect(readQueueMessage(fixture('s3-test-event.json'))).toEqual({
      kind: 'ignored',
      reason: 's3:TestEvent',
    });
    const tags = { ...JSON.parse(fixture('s3-object-created.json')), 'detail-type': 'Object Tags Added' };
    expect(readQueueMessage(JSON.stringify(tags)).kind).toBe('ignored');
    expect(readQueueMessage(notification('a.txt', 'ObjectRestore:Post')).kind).toBe('ignored');
  });

  it('accepts moto’s eTag spelling in the EventBridge shape', () => {
    const event = JSON.parse(fixture('s3-object-created.json'));
    delete event.detail.object.etag;
    event.detail.object.eTag = 'abc';
    const read = readQueueMessage(JSON.stringify(event));
    expect(read.kind === 's3' && read.events[0]!.detail.object.etag).toBe('abc');
  });

  it.each(['not json', '42', '{"hello":"world"}', '{"Records":[{"s3":{}}]}'])(
    'refuses %s as MalformedEvent (left for the dead-letter queue)',
    (body) => {
      expect(() => readQueueMessage(body)).toThrow(expect.objectContaining({ code: 'MalformedEvent' }));
    },
  );
});
