import { describe, expect, it } from 'vitest';
import type { SyncEvent } from '../../../src/core/events.ts';
import type { Association } from '../../../src/core/types.ts';
import { type RouteOutput, routeEvent } from '../../../src/sync/plan/route.ts';
import type { Candidate } from '../../../src/sync/plan/types.ts';
import { association } from '../../support/associations.ts';
import { agentEvent, s3Event } from '../../support/events.ts';

function route(event: unknown, associations: Association[]) {
  const candidates: Candidate[] = [];
  const output: RouteOutput = { rejected: [], dropped: { uncovered: 0, echoes: 0, policy: 0 } };
  routeEvent('m-1', event as SyncEvent, associations, candidates, output);
  const summary = candidates.map(({ association: a, ...rest }) => ({ id: a.associationId, ...rest }));
  return { candidates: summary, ...output };
}

const data = association('dra-data', '/data', 's3://bucket/data/');
const deep = association('dra-deep', '/data/deep', 's3://bucket/data/deep/');

describe('routing an S3 event to the association that covers its key', () => {
  it('picks the longest covering prefix and carries the kind and the unquoted ETag of an upload', () => {
    const { candidates, dropped } = route(
      s3Event('Object Created', 'bucket', 'data/deep/a.txt', { etag: '"e1"' }),
      [data, deep],
    );
    expect(candidates).toEqual([
      { id: 'dra-deep', path: 'a.txt', kindHint: 'file', messageId: 'm-1', etag: 'e1' },
    ]);
    expect(dropped).toEqual({ uncovered: 0, echoes: 0, policy: 0 });
  });

  it('does not echo-check a copy (it can change metadata alone) nor a delete', () => {
    const copy = route(
      s3Event('Object Created', 'bucket', 'data/a.txt', { etag: '"e1"', reason: 'CopyObject' }),
      [data],
    );
    const deleted = route(s3Event('Object Deleted', 'bucket', 'data/a.txt', { etag: '"e1"' }), [data]);
    expect(copy.candidates).toEqual([{ id: 'dra-data', path: 'a.txt', kindHint: 'file', messageId: 'm-1' }]);
    expect(deleted.candidates).toEqual([
      { id: 'dra-data', path: 'a.txt', kindHint: 'file', messageId: 'm-1' },
    ]);
  });

  it('counts a key in another bucket or outside every prefix as uncovered', () => {
    const other = route(s3Event('Object Created', 'elsewhere', 'data/a.txt'), [data]);
    const outside = route(s3Event('Object Created', 'bucket', 'logs/a.txt'), [data]);
    for (const { candidates, dropped } of [other, outside]) {
      expect(candidates).toEqual([]);
      expect(dropped.uncovered).toBe(1);
    }
  });

  it('filters by auto-import policy: a delete needs DELETED, an upload NEW or CHANGED', () => {
    const importsNew = association('dra-new', '/data', 's3://bucket/data/', { autoImport: ['NEW'] });
    const importsDeletes = association('dra-del', '/data', 's3://bucket/data/', { autoImport: ['DELETED'] });
    const deleted = route(s3Event('Object Deleted', 'bucket', 'data/a.txt'), [importsNew]);
    const created = route(s3Event('Object Created', 'bucket', 'data/a.txt'), [importsDeletes]);
    for (const { candidates, dropped } of [deleted, created]) {
      expect(candidates).toEqual([]);
      expect(dropped).toEqual({ uncovered: 0, echoes: 0, policy: 1 });
    }
    expect(
      route(s3Event('Object Deleted', 'bucket', 'data/a.txt'), [importsDeletes]).candidates,
    ).toHaveLength(1);
  });

  it('refuses a key with a `..` segment or longer than S3 allows, with its code', () => {
    const dotdot = route(s3Event('Object Created', 'bucket', 'data/a/../../etc/passwd'), [data]);
    const long = route(s3Event('Object Created', 'bucket', `data/${'x'.repeat(1100)}`), [data]);
    for (const { candidates, rejected } of [dotdot, long]) {
      expect(candidates).toEqual([]);
      expect(rejected).toHaveLength(1);
      expect(rejected[0]).toMatchObject({ messageId: 'm-1', code: 'S3ImportObjectPathNotPosixCompliant' });
    }
    expect(long.rejected[0]!.message).toMatch(/1105 bytes; S3 allows 1024/);
  });
});

describe('routing agent changes to the association that covers their path', () => {
  it('keeps what the agent saw of a created path for the echo check, and only the inode of a delete', () => {
    const event = agentEvent({ fileSystemPath: '/data' }, 'a.txt', 'created', 'file');
    const seen = { ...event.detail.changes[0]!, size: 3, mtimeNs: '1', ino: '77' };
    const gone = { path: '/data/b.txt', op: 'deleted', ino: '78', seq: 9 };
    event.detail.changes = [seen, gone];
    const { candidates } = route(event, [data]);
    expect(candidates).toEqual([
      { id: 'dra-data', path: 'a.txt', kindHint: 'file', messageId: 'm-1', op: 'created', ino: '77', seen },
      { id: 'dra-data', path: 'b.txt', messageId: 'm-1', op: 'deleted', ino: '78' },
    ]);
  });

  it('turns a file renamed within one association into one candidate that remembers the old path', () => {
    const { candidates } = route(
      agentEvent({ fileSystemPath: '/data' }, 'new.txt', 'renamed', 'file', 'old.txt'),
      [data],
    );
    expect(candidates).toEqual([
      {
        id: 'dra-data',
        path: 'new.txt',
        kindHint: 'file',
        messageId: 'm-1',
        op: 'renamed',
        renamedFrom: 'old.txt',
      },
    ]);
  });

  it('leaves a directory rename, or one across associations, as the old path and the new one', () => {
    const dir = route(agentEvent({ fileSystemPath: '/data' }, 'new', 'renamed', 'dir', 'old'), [data]);
    expect(dir.candidates.map((c) => [c.id, c.path, c.renamedFrom])).toEqual([
      ['dra-data', 'old', undefined],
      ['dra-data', 'new', undefined],
    ]);
    const across = route(agentEvent({ fileSystemPath: '/data' }, 'deep/a.txt', 'renamed', 'file', 'a.txt'), [
      data,
      deep,
    ]);
    expect(across.candidates.map((c) => [c.id, c.path, c.renamedFrom])).toEqual([
      ['dra-data', 'a.txt', undefined],
      ['dra-deep', 'a.txt', undefined],
    ]);
  });

  it('filters by auto-export policy: a delete needs DELETED, a create NEW or CHANGED', () => {
    const exportsDeletes = association('dra-del', '/data', 's3://bucket/data/', { autoExport: ['DELETED'] });
    const exportsNew = association('dra-new', '/data', 's3://bucket/data/', { autoExport: ['NEW'] });
    const created = route(agentEvent({ fileSystemPath: '/data' }, 'a.txt', 'created'), [exportsDeletes]);
    const deleted = route(agentEvent({ fileSystemPath: '/data' }, 'a.txt', 'deleted'), [exportsNew]);
    for (const { candidates, dropped } of [created, deleted]) {
      expect(candidates).toEqual([]);
      expect(dropped.policy).toBe(1);
    }
  });

  it('counts a path outside every association as uncovered and refuses one with a `..` segment', () => {
    const outside = route(agentEvent({ fileSystemPath: '/logs' }, 'a.txt', 'modified'), [data]);
    expect(outside.candidates).toEqual([]);
    expect(outside.dropped.uncovered).toBe(1);
    const unsafe = route(agentEvent({ fileSystemPath: '/data' }, 'a/../../etc/passwd', 'modified'), [data]);
    expect(unsafe.candidates).toEqual([]);
    expect(unsafe.rejected).toEqual([
      expect.objectContaining({ messageId: 'm-1', key: '/data/a/../../etc/passwd', code: 'MalformedEvent' }),
    ]);
  });
});
