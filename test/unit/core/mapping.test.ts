import { describe, expect, it } from 'vitest';
import { ExportPathSizeTooLongError, PathNotPosixCompliantError } from '../../../src/core/errors.ts';
import { joinPath, keyToPath, parentPath, pathToKey } from '../../../src/core/mapping.ts';

const refusal =
  (key: string, prefix = 'data/') =>
  () =>
    keyToPath(key, prefix);

/** A relative path of exactly `total` bytes made of 200-byte segments. */
function pathOfBytes(total: number): string {
  const parts: string[] = [];
  let used = 0;
  while (total - used > 200) {
    parts.push('x'.repeat(200));
    used += 201;
  }
  parts.push('y'.repeat(total - used));
  return parts.join('/');
}

describe('keyToPath', () => {
  it('maps a key under the prefix to a relative file path', () => {
    expect(keyToPath('data/a/b.txt', 'data/')).toEqual({ path: 'a/b.txt', kind: 'file' });
  });

  it('maps a key ending in a slash to a directory without the slash', () => {
    expect(keyToPath('data/a/b/', 'data/')).toEqual({ path: 'a/b', kind: 'dir' });
  });

  it('maps keys of a whole-bucket association (empty prefix)', () => {
    expect(keyToPath('top.txt', '')).toEqual({ path: 'top.txt', kind: 'file' });
  });

  it('maps the prefix itself to the association root', () => {
    expect(keyToPath('data/', 'data/')).toEqual({ path: '', kind: 'dir' });
  });

  it.each([
    ['a space', 'data/my file.txt', 'my file.txt'],
    ['a plus sign (never read as a space)', 'data/a+b.txt', 'a+b.txt'],
    ['a percent escape (never decoded)', 'data/%41', '%41'],
    ['a lone percent sign', 'data/100%', '100%'],
    ['a hash', 'data/#notes#', '#notes#'],
    ['non-ASCII characters', 'data/café/日本語.txt', 'café/日本語.txt'],
    ['a backslash', 'data/a\\b', 'a\\b'],
    ['dots inside a name', 'data/..hidden/a..b/...', '..hidden/a..b/...'],
  ])('keeps a key with %s as it is', (_label, key, path) => {
    expect(keyToPath(key, 'data/').path).toBe(path);
  });

  it('refuses a key outside the prefix', () => {
    expect(refusal('other/a.txt')).toThrow(/not under the prefix/);
  });

  it.each([
    ['a ".." segment', 'data/../etc/passwd', /"\.\." segment/],
    ['a ".." segment deep inside', 'data/a/b/../../../x', /"\.\." segment/],
    ['a "." segment', 'data/a/./b', /"\." segment/],
    ['a "." directory marker', 'data/./', /"\." segment/],
    ['an empty segment', 'data/a//b', /empty segment/],
    ['a double trailing slash', 'data/a//', /empty segment/],
    ['an absolute path', 'data//etc/passwd', /absolute/],
    ['a NUL character', 'data/a\0b', /NUL/],
  ])('refuses a key with %s', (_label, key, message) => {
    expect(refusal(key)).toThrow(PathNotPosixCompliantError);
    expect(refusal(key)).toThrow(message);
  });

  it('refuses an absolute key under an empty prefix', () => {
    expect(refusal('/etc/passwd', '')).toThrow(/absolute/);
  });

  it('accepts a segment of exactly 255 bytes and refuses 256', () => {
    expect(keyToPath(`data/${'a'.repeat(255)}`, 'data/').path).toHaveLength(255);
    expect(refusal(`data/${'a'.repeat(256)}`)).toThrow(/longer than 255 bytes/);
  });

  it('counts segment length in UTF-8 bytes, not characters', () => {
    // 'é' is two bytes: 127 of them are 254 bytes, 128 are 256.
    expect(() => keyToPath(`data/${'é'.repeat(127)}`, 'data/')).not.toThrow();
    expect(refusal(`data/${'é'.repeat(128)}`)).toThrow(/longer than 255 bytes/);
  });

  it('accepts a path of 4096 bytes and refuses 4097', () => {
    expect(keyToPath(pathOfBytes(4096), '').path).toHaveLength(4096);
    expect(refusal(pathOfBytes(4097), '')).toThrow(/longer than 4096 bytes/);
  });

  it('carries the S3 import code FSx reports for unsafe keys', () => {
    try {
      keyToPath('data/../x', 'data/');
      expect.unreachable();
    } catch (error) {
      expect((error as PathNotPosixCompliantError).code).toBe('S3ImportObjectPathNotPosixCompliant');
    }
  });
});

describe('pathToKey', () => {
  it('prefixes a file path', () => {
    expect(pathToKey('a/b.txt', 'data/', 'file')).toBe('data/a/b.txt');
  });

  it('gives a directory a trailing slash', () => {
    expect(pathToKey('a/b', 'data/', 'dir')).toBe('data/a/b/');
  });

  it('maps a symlink like a file', () => {
    expect(pathToKey('link', '', 'symlink')).toBe('link');
  });

  it('maps the root to the prefix', () => {
    expect(pathToKey('', 'data/', 'dir')).toBe('data/');
  });

  it.each(['my file.txt', 'a+b', '%41', '100%', '#x', 'café/日本語'])(
    'round-trips %s through keyToPath',
    (path) => {
      expect(keyToPath(pathToKey(path, 'p/', 'file'), 'p/')).toEqual({ path, kind: 'file' });
      expect(keyToPath(pathToKey(path, 'p/', 'dir'), 'p/')).toEqual({ path, kind: 'dir' });
    },
  );

  it('accepts a key of exactly 1024 bytes and refuses 1025', () => {
    expect(pathToKey(pathOfBytes(1020), 'pre/', 'file')).toHaveLength(1024);
    expect(() => pathToKey(pathOfBytes(1021), 'pre/', 'file')).toThrow(ExportPathSizeTooLongError);
    expect(() => pathToKey(pathOfBytes(1021), 'pre/', 'file')).toThrow(/1025 bytes/);
  });

  it('counts the directory slash against the 1024-byte limit', () => {
    expect(pathToKey(pathOfBytes(1020), 'pre/', 'file')).toHaveLength(1024);
    expect(() => pathToKey(pathOfBytes(1020), 'pre/', 'dir')).toThrow(ExportPathSizeTooLongError);
  });

  it('counts key length in UTF-8 bytes', () => {
    expect(() => pathToKey('é'.repeat(510), 'pre/', 'file')).not.toThrow();
    expect(() => pathToKey(`é${'é'.repeat(510)}`, 'pre/', 'file')).toThrow(/1026 bytes/);
  });

  it('refuses a name that was not valid UTF-8 (shown as U+FFFD)', () => {
    expect(() => pathToKey('bad\uFFFDname', '', 'file')).toThrow(ExportPathSizeTooLongError);
    expect(() => pathToKey('bad\uFFFDname', '', 'file')).toThrow(/not valid UTF-8/);
  });

  it('refuses a lone surrogate', () => {
    expect(() => pathToKey('bad\uD800name', '', 'file')).toThrow(/not valid UTF-8/);
  });

  it('carries the export code FSx reports', () => {
    expect(() => pathToKey('\uFFFD', '', 'file')).toThrow(
      expect.objectContaining({ code: 'S3ExportPathSizeTooLong' }),
    );
  });
});

describe('parentPath and joinPath', () => {
  it.each([
    ['a/b/c.txt', 'a/b'],
    ['a', ''],
    ['', ''],
  ])('gives the parent of %j as %j', (path, parent) => {
    expect(parentPath(path)).toBe(parent);
  });

  it('joins parts with single slashes, skipping empty ones', () => {
    expect(joinPath('a', '', 'b/', '/c')).toBe('a/b/c');
    expect(joinPath('', 'x.txt')).toBe('x.txt');
    expect(joinPath()).toBe('');
  });
});
