import { describe, expect, it } from 'vitest';
import { parseBody } from '../../../src/sync/plan/parse.ts';
import type { PlanFailure } from '../../../src/sync/plan/types.ts';
import { agentEvent, s3Event } from '../../support/events.ts';

function parse(messageId: string, body: string) {
  const failures: PlanFailure[] = [];
  const event = parseBody({ messageId, body }, failures);
  return { event, failures };
}

describe('parsing one Pipe record into a sync event', () => {
  it('returns an S3 event and an agent event as they are, reporting nothing', () => {
    const created = s3Event('Object Created', 'bucket', 'p/a.txt', { etag: '"abc"' });
    const changed = agentEvent({ fileSystemPath: '/fs' }, 'a.txt', 'modified', 'file');
    for (const body of [created, changed]) {
      const { event, failures } = parse('m-1', JSON.stringify(body));
      expect(failures).toEqual([]);
      expect(event).toEqual(body);
    }
  });

  it('reports a body that is not JSON as MalformedEvent for its message, and yields no event', () => {
    const { event, failures } = parse('m-2', '{"source": "aws.s3"');
    expect(event).toBeUndefined();
    expect(failures).toEqual([{ messageId: 'm-2', code: 'MalformedEvent', message: 'body is not JSON' }]);
  });

  it('names the first field that breaks the schema', () => {
    const relative = agentEvent({ fileSystemPath: '/fs' }, 'a.txt', 'created');
    relative.detail.changes[0]!.path = 'fs/a.txt';
    const emptyKey = s3Event('Object Deleted', 'bucket', '');
    const first = parse('m-3', JSON.stringify(relative));
    const second = parse('m-4', JSON.stringify(emptyKey));
    expect(first.event).toBeUndefined();
    expect(first.failures).toHaveLength(1);
    expect(first.failures[0]).toMatchObject({ messageId: 'm-3', code: 'MalformedEvent' });
    expect(first.failures[0]!.message).toMatch(/^detail\.changes\.0\.path: /);
    expect(second.event).toBeUndefined();
    expect(second.failures[0]!.message).toMatch(/^detail\.object\.key: /);
  });

  it('says "event" when the body matches no event shape at all', () => {
    for (const body of ['{}', '[]', '42', 'null']) {
      const { event, failures } = parse('m-5', body);
      expect(event).toBeUndefined();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ messageId: 'm-5', code: 'MalformedEvent' });
      expect(failures[0]!.message).toMatch(/^event: /);
    }
  });
});
