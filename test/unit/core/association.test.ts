import { describe, expect, it } from 'vitest';
import {
  associationRoot,
  createAssociationInput,
  findAssociationForFsPath,
  findAssociationForKey,
  normalizeFileSystemPath,
  parseDataRepositoryPath,
  updateAssociationInput,
  validateNewAssociation,
} from '../../../src/core/association.ts';
import {
  InvalidAssociationError,
  MalformedEventError,
  PathNotPosixCompliantError,
} from '../../../src/core/errors.ts';
import type { Association } from '../../../src/core/types.ts';

function association(associationId: string, fileSystemPath: string, dataRepositoryPath: string): Association {
  return {
    associationId,
    fileSystemPath,
    dataRepositoryPath,
    autoImport: ['NEW', 'CHANGED', 'DELETED'],
    autoExport: ['NEW', 'CHANGED', 'DELETED'],
    batchImportMetaDataOnCreate: true,
    conflictPolicy: 'KEEP_BOTH',
    lifecycle: 'AVAILABLE',
    creationTime: '2024-01-01T00:00:00.000Z',
  };
}

describe('parseDataRepositoryPath', () => {
  it.each([
    ['s3://logs/', { bucket: 'logs', prefix: '' }],
    ['s3://logs', { bucket: 'logs', prefix: '' }],
    ['s3://my-bucket/a/b/', { bucket: 'my-bucket', prefix: 'a/b/' }],
    ['s3://my.bucket.v2/x/', { bucket: 'my.bucket.v2', prefix: 'x/' }],
    ['s3://legacy_bucket/', { bucket: 'legacy_bucket', prefix: '' }],
    ['s3://abc/with space/', { bucket: 'abc', prefix: 'with space/' }],
  ])('parses %s', (input, expected) => {
    expect(parseDataRepositoryPath(input)).toEqual(expected);
  });

  it.each([
    ['http://logs/', /must start with s3:\/\//],
    ['logs', /must start with s3:\/\//],
    ['s3://ab/', /3 to 63 characters/],
    [`s3://${'a'.repeat(64)}/`, /3 to 63 characters/],
    ['s3://Logs/', /lower-case/],
    ['s3://lo gs/', /lower-case/],
    ['s3://-logs/', /start and end with a letter or digit/],
    ['s3://logs-/', /start and end with a letter or digit/],
    ['s3://lo..gs/', /adjacent periods/],
    ['s3://192.168.1.1/', /IP address/],
    ['s3:///prefix/', /3 to 63 characters/],
    ['s3://logs/prefix', /must end with "\/"/],
    ['s3://logs//', /empty segment/],
    ['s3://logs/a//b/', /empty segment/],
    ['s3://logs/../', /"\.\." segment/],
  ])('refuses %s', (input, message) => {
    expect(() => parseDataRepositoryPath(input)).toThrow(InvalidAssociationError);
    expect(() => parseDataRepositoryPath(input)).toThrow(message);
  });
});

describe('normalizeFileSystemPath', () => {
  it.each([
    ['/', '/'],
    ['/logs', '/logs'],
    ['/logs/', '/logs'],
    ['/a/b c/d', '/a/b c/d'],
  ])('normalizes %s to %s', (input, expected) => {
    expect(normalizeFileSystemPath(input)).toBe(expected);
  });

  it.each([
    ['logs', /must start with "\/"/],
    ['', /must start with "\/"/],
    ['/logs/../etc', /"\.\." segment/],
    ['/./logs', /"\." segment/],
    ['/a//b', /empty segment/],
    ['//', /empty segment/],
    ['/logs//', /empty segment/],
    ['/lo\0gs', /NUL/],
  ])('refuses %j', (input, message) => {
    expect(() => normalizeFileSystemPath(input)).toThrow(InvalidAssociationError);
    expect(() => normalizeFileSystemPath(input)).toThrow(message);
  });
});

describe('createAssociationInput', () => {
  it('fills FSx defaults and normalizes both paths', () => {
    expect(
      createAssociationInput.parse({ fileSystemPath: '/logs/', dataRepositoryPath: 's3://logs' }),
    ).toEqual({
      fileSystemPath: '/logs',
      dataRepositoryPath: 's3://logs/',
      autoImport: ['NEW', 'CHANGED', 'DELETED'],
      autoExport: ['NEW', 'CHANGED', 'DELETED'],
      batchImportMetaDataOnCreate: true,
      conflictPolicy: 'KEEP_BOTH',
    });
  });

  it('keeps given policies, deduplicated in a fixed order', () => {
    const parsed = createAssociationInput.parse({
      fileSystemPath: '/a',
      dataRepositoryPath: 's3://bucket/p/',
      autoImport: ['DELETED', 'NEW', 'NEW'],
      autoExport: [],
      batchImportMetaDataOnCreate: false,
      conflictPolicy: 'NEWER',
    });
    expect(parsed).toMatchObject({ autoImport: ['NEW', 'DELETED'], autoExport: [], conflictPolicy: 'NEWER' });
    expect(parsed.batchImportMetaDataOnCreate).toBe(false);
  });

  it('reports bad paths with the reason on the field', () => {
    const result = createAssociationInput.safeParse({
      fileSystemPath: 'logs',
      dataRepositoryPath: 's3://X/',
    });
    expect(result.success).toBe(false);
    const issues = result.error?.issues.map((issue) => [issue.path.join('.'), issue.message]);
    expect(issues).toEqual([
      ['fileSystemPath', expect.stringMatching(/must start with "\/"/)],
      ['dataRepositoryPath', expect.stringMatching(/bucket name "X"/)],
    ]);
  });

  it('refuses an unknown change kind or conflict policy', () => {
    const base = { fileSystemPath: '/a', dataRepositoryPath: 's3://bucket/' };
    expect(createAssociationInput.safeParse({ ...base, autoImport: ['MODIFIED'] }).success).toBe(false);
    expect(createAssociationInput.safeParse({ ...base, conflictPolicy: 'LAST_WRITER' }).success).toBe(false);
  });
});

describe('updateAssociationInput', () => {
  it('accepts policy changes only', () => {
    expect(updateAssociationInput.parse({ autoExport: ['NEW'], conflictPolicy: 'S3_WINS' })).toEqual({
      autoExport: ['NEW'],
      conflictPolicy: 'S3_WINS',
    });
    expect(updateAssociationInput.parse({})).toEqual({});
  });

  it.each(['fileSystemPath', 'dataRepositoryPath'])('refuses a new %s: paths are immutable', (field) => {
    const result = updateAssociationInput.safeParse({ [field]: '/x' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(new RegExp(`${field} cannot be changed.*immutable`));
  });
});

describe('validateNewAssociation', () => {
  const existing = [
    association('dra-logs', '/logs', 's3://logs/'),
    association('dra-data', '/data/in', 's3://shared/data/'),
  ];
  const accepts = (fileSystemPath: string, dataRepositoryPath: string) => () =>
    validateNewAssociation({ fileSystemPath, dataRepositoryPath }, existing);

  it.each([
    ['a sibling whose name extends another (/logs2)', '/logs2', 's3://logs2/'],
    ['a sibling directory of a nested path', '/data/out', 's3://shared/out/'],
    ['a parent-like prefix that is not a path prefix', '/dat', 's3://shared/dat/'],
    ['another prefix of the same bucket', '/other', 's3://shared/data2/'],
    ['the same prefix in another bucket', '/other', 's3://other/data/'],
  ])('accepts %s', (_label, fileSystemPath, dataRepositoryPath) => {
    expect(accepts(fileSystemPath, dataRepositoryPath)).not.toThrow();
  });

  it('accepts anything, even /, as the first association', () => {
    expect(() =>
      validateNewAssociation({ fileSystemPath: '/', dataRepositoryPath: 's3://all/' }, []),
    ).not.toThrow();
  });

  it.each([
    ['the same file-system path', '/logs', 's3://xx1/', /overlaps \/logs of association dra-logs/],
    ['a path inside another', '/logs/app', 's3://xx1/', /dra-logs/],
    ['a path holding another', '/data', 's3://xx1/', /overlaps \/data\/in of association dra-data/],
    ['the same S3 location', '/x', 's3://logs/', /overlaps s3:\/\/logs\/ of association dra-logs/],
    ['a prefix inside another', '/x', 's3://logs/sub/', /dra-logs/],
    [
      'a prefix holding another',
      '/x',
      's3://shared/',
      /overlaps s3:\/\/shared\/data\/ of association dra-data/,
    ],
    ['/ beside others', '/', 's3://xx1/', /"\/" can only be used/],
  ])('refuses %s', (_label, fileSystemPath, dataRepositoryPath, message) => {
    expect(accepts(fileSystemPath, dataRepositoryPath)).toThrow(InvalidAssociationError);
    expect(accepts(fileSystemPath, dataRepositoryPath)).toThrow(message);
  });

  it('refuses anything beside an association of /', () => {
    const root = [association('dra-root', '/', 's3://all/')];
    expect(() =>
      validateNewAssociation({ fileSystemPath: '/x', dataRepositoryPath: 's3://xx1/' }, root),
    ).toThrow(/dra-root/);
  });

  it('refuses malformed candidate paths', () => {
    expect(accepts('logs', 's3://xx1/')).toThrow(/must start with "\/"/);
    expect(accepts('/x', 's3://xx1/p')).toThrow(/must end with "\/"/);
  });
});

describe('associationRoot', () => {
  it('joins the file-system root and the association path', () => {
    expect(associationRoot('/mnt/fs', { fileSystemPath: '/logs' })).toBe('/mnt/fs/logs');
    expect(associationRoot('/mnt/fs/', { fileSystemPath: '/a/b' })).toBe('/mnt/fs/a/b');
    expect(associationRoot('/mnt/fs', { fileSystemPath: '/' })).toBe('/mnt/fs');
    expect(associationRoot('/', { fileSystemPath: '/' })).toBe('/');
  });
});

describe('findAssociationForKey', () => {
  const associations = [
    association('dra-logs', '/logs', 's3://logs/'),
    association('dra-data', '/data', 's3://shared/data/'),
  ];

  it('maps a key to its association and relative path', () => {
    const found = findAssociationForKey(associations, 'shared', 'data/a/b.txt');
    expect(found).toEqual({ association: associations[1], path: 'a/b.txt', kind: 'file' });
  });

  it('maps a directory marker', () => {
    expect(findAssociationForKey(associations, 'logs', 'x/')).toMatchObject({ path: 'x', kind: 'dir' });
  });

  it('returns undefined for keys no association covers', () => {
    expect(findAssociationForKey(associations, 'shared', 'other/a')).toBeUndefined();
    expect(findAssociationForKey(associations, 'shared', 'data')).toBeUndefined();
    expect(findAssociationForKey(associations, 'nobody', 'data/a')).toBeUndefined();
  });

  it('returns undefined for the root marker and the sentinel', () => {
    expect(findAssociationForKey(associations, 'shared', 'data/')).toBeUndefined();
    expect(findAssociationForKey(associations, 'logs', '.bucketlink')).toBeUndefined();
  });

  it('refuses a covered key that is not a safe path', () => {
    expect(() => findAssociationForKey(associations, 'shared', 'data/../../etc/x')).toThrow(
      PathNotPosixCompliantError,
    );
  });

  it('never decodes keys', () => {
    expect(findAssociationForKey(associations, 'logs', 'a+b%41')?.path).toBe('a+b%41');
  });
});

describe('findAssociationForFsPath', () => {
  const associations = [
    association('dra-logs', '/logs', 's3://logs/'),
    association('dra-deep', '/data/in', 's3://shared/in/'),
  ];

  it('maps a path to its association at a segment boundary', () => {
    expect(findAssociationForFsPath(associations, '/logs/a/b.txt')).toEqual({
      association: associations[0],
      path: 'a/b.txt',
    });
    expect(findAssociationForFsPath(associations, '/data/in/x')?.association.associationId).toBe('dra-deep');
  });

  it('does not match a sibling whose name extends the association path', () => {
    expect(findAssociationForFsPath(associations, '/logs2/a')).toBeUndefined();
    expect(findAssociationForFsPath(associations, '/data/x')).toBeUndefined();
  });

  it('returns undefined for the association root and its sentinel', () => {
    expect(findAssociationForFsPath(associations, '/logs')).toBeUndefined();
    expect(findAssociationForFsPath(associations, '/logs/')).toBeUndefined();
    expect(findAssociationForFsPath(associations, '/logs/.bucketlink')).toBeUndefined();
  });

  it('maps everything under an association of /', () => {
    const root = [association('dra-root', '/', 's3://all/')];
    expect(findAssociationForFsPath(root, '/a/b')).toMatchObject({ path: 'a/b' });
    expect(findAssociationForFsPath(root, '/')).toBeUndefined();
  });

  it('drops a trailing slash', () => {
    expect(findAssociationForFsPath(associations, '/logs/dir/')?.path).toBe('dir');
  });

  it('refuses a path that is not normalized', () => {
    expect(() => findAssociationForFsPath(associations, '/logs/../etc/passwd')).toThrow(MalformedEventError);
    expect(() => findAssociationForFsPath(associations, '/logs/a//b')).toThrow(/empty segment/);
  });
});
