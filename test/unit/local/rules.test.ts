import { describe, expect, it } from 'vitest';
import { AGENT_RULE_PATTERN, matchesPattern, S3_RULE_PATTERN } from '../../../src/local/rules.ts';

const created = {
  version: '0',
  id: 'e1',
  source: 'aws.s3',
  'detail-type': 'Object Created',
  account: '111122223333',
  time: '2021-11-12T00:00:00Z',
  region: 'ca-central-1',
  resources: ['arn:aws:s3:::logs'],
  detail: {
    bucket: { name: 'logs' },
    object: { key: 'a b+c.txt', size: 5, etag: 'abc' },
    reason: 'PutObject',
    tags: ['x', 'y'],
  },
};

describe('matchesPattern', () => {
  it('matches exact values listed in arrays, at any depth', () => {
    expect(
      matchesPattern({ source: ['aws.s3'], detail: { bucket: { name: ['other', 'logs'] } } }, created),
    ).toBe(true);
    expect(matchesPattern({ source: ['aws.s3'], detail: { bucket: { name: ['other'] } } }, created)).toBe(
      false,
    );
  });

  it('ignores fields the pattern does not name and fails on fields the event lacks', () => {
    expect(matchesPattern({}, created)).toBe(true);
    expect(matchesPattern({ detail: { missing: ['x'] } }, created)).toBe(false);
    expect(matchesPattern({ nothing: { deeper: ['x'] } }, created)).toBe(false);
  });

  it('compares types strictly: a string never matches a number', () => {
    expect(matchesPattern({ detail: { object: { size: [5] } } }, created)).toBe(true);
    expect(matchesPattern({ detail: { object: { size: ['5'] } } }, created)).toBe(false);
  });

  it('matches an array field when any of its elements matches', () => {
    expect(matchesPattern({ detail: { tags: ['y'] } }, created)).toBe(true);
    expect(matchesPattern({ detail: { tags: ['z'] } }, created)).toBe(false);
  });

  it('supports prefix and suffix', () => {
    expect(matchesPattern({ detail: { object: { key: [{ prefix: 'a b' }] } } }, created)).toBe(true);
    expect(matchesPattern({ detail: { object: { key: [{ prefix: 'b' }] } } }, created)).toBe(false);
    expect(matchesPattern({ detail: { object: { key: [{ suffix: '.txt' }] } } }, created)).toBe(true);
    expect(
      matchesPattern({ detail: { object: { key: [{ prefix: { 'equals-ignore-case': 'A B' } }] } } }, created),
    ).toBe(true);
  });

  it('supports anything-but with a value, a list and a prefix, never matching an absent field', () => {
    expect(matchesPattern({ detail: { reason: [{ 'anything-but': 'DeleteObject' }] } }, created)).toBe(true);
    expect(
      matchesPattern({ detail: { reason: [{ 'anything-but': ['PutObject', 'CopyObject'] }] } }, created),
    ).toBe(false);
    expect(matchesPattern({ detail: { reason: [{ 'anything-but': { prefix: 'Put' } }] } }, created)).toBe(
      false,
    );
    expect(matchesPattern({ detail: { absent: [{ 'anything-but': 'x' }] } }, created)).toBe(false);
  });

  it('supports exists on leaf fields', () => {
    expect(matchesPattern({ detail: { object: { etag: [{ exists: true }] } } }, created)).toBe(true);
    expect(matchesPattern({ detail: { object: { 'version-id': [{ exists: false }] } } }, created)).toBe(true);
    expect(matchesPattern({ detail: { object: { 'version-id': [{ exists: true }] } } }, created)).toBe(false);
    expect(matchesPattern({ detail: { object: { etag: [{ exists: false }] } } }, created)).toBe(false);
  });

  it('supports numeric ranges and $or', () => {
    expect(matchesPattern({ detail: { object: { size: [{ numeric: ['>', 0, '<=', 5] }] } } }, created)).toBe(
      true,
    );
    expect(matchesPattern({ detail: { object: { size: [{ numeric: ['>', 5] }] } } }, created)).toBe(false);
    expect(
      matchesPattern(
        { $or: [{ source: ['bucketlink.agent'] }, { detail: { reason: ['PutObject'] } }] },
        created,
      ),
    ).toBe(true);
  });

  it('refuses operators and shapes it does not implement instead of guessing', () => {
    expect(() => matchesPattern({ source: [{ wildcard: 'aws.*' }] }, created)).toThrow(/unsupported/);
    expect(() => matchesPattern({ source: [] }, created)).toThrow(/empty/);
    expect(() => matchesPattern({ source: 'aws.s3' } as never, created)).toThrow(/array or an object/);
  });
});

describe('rule patterns', () => {
  it('takes S3 created and deleted events of the listed buckets only', () => {
    const pattern = S3_RULE_PATTERN(['logs', { prefix: 'team-' }]);

    expect(matchesPattern(pattern, created)).toBe(true);
    expect(matchesPattern(pattern, { ...created, 'detail-type': 'Object Deleted' })).toBe(true);
    expect(matchesPattern(pattern, { ...created, detail: { bucket: { name: 'team-a' } } })).toBe(true);
    expect(matchesPattern(pattern, { ...created, detail: { bucket: { name: 'other' } } })).toBe(false);
    expect(matchesPattern(pattern, { ...created, 'detail-type': 'Object Restore Completed' })).toBe(false);
    expect(matchesPattern(pattern, { ...created, source: 'bucketlink.agent' })).toBe(false);
  });

  it('declares the bucket list exactly as serverless.yml writes it', () => {
    expect(S3_RULE_PATTERN(['logs'])).toEqual({
      source: ['aws.s3'],
      'detail-type': ['Object Created', 'Object Deleted'],
      detail: { bucket: { name: ['logs'] } },
    });
    expect(() => S3_RULE_PATTERN([])).toThrow(/at least one/);
  });

  it('takes agent change events and nothing else', () => {
    const agent = { source: 'bucketlink.agent', 'detail-type': 'File System Change', detail: {} };

    expect(matchesPattern(AGENT_RULE_PATTERN, agent)).toBe(true);
    expect(matchesPattern(AGENT_RULE_PATTERN, created)).toBe(false);
    expect(matchesPattern(AGENT_RULE_PATTERN, { ...agent, 'detail-type': 'Sync Conflict' })).toBe(false);
  });
});
