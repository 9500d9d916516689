import { describe, expect, it } from 'vitest';
import { conflictPath } from '../../../src/core/conflict.ts';
import { keyToPath } from '../../../src/core/mapping.ts';

const options = { now: new Date('2024-05-06T07:08:09.987Z'), origin: 'host-1', random4: 'a1b2' };

describe('conflictPath', () => {
  it.each([
    ['report.pdf', 'report.conflict-20240506T070809Z-host-1-a1b2.pdf'],
    ['dir/sub/report.pdf', 'dir/sub/report.conflict-20240506T070809Z-host-1-a1b2.pdf'],
    ['archive.tar.gz', 'archive.tar.conflict-20240506T070809Z-host-1-a1b2.gz'],
    ['Makefile', 'Makefile.conflict-20240506T070809Z-host-1-a1b2'],
    ['.bashrc', '.bashrc.conflict-20240506T070809Z-host-1-a1b2'],
    ['home/.config.bak', 'home/.config.conflict-20240506T070809Z-host-1-a1b2.bak'],
    ['trailing.', 'trailing..conflict-20240506T070809Z-host-1-a1b2'],
    ['café.txt', 'café.conflict-20240506T070809Z-host-1-a1b2.txt'],
  ])('names the copy of %s %s', (path, expected) => {
    expect(conflictPath(path, options)).toBe(expected);
  });

  it('renders the time in UTC to the second', () => {
    const now = new Date('2024-12-31T23:59:59.999-05:00');
    expect(conflictPath('a', { ...options, now })).toBe('a.conflict-20250101T045959Z-host-1-a1b2');
  });

  it.each([
    ['ip-10-0-0-1.ec2.internal', 'ip-10-0-0-1-ec2-internal'],
    ['s3', 's3'],
    ['../../etc', 'etc'],
    ['my host/name', 'my-host-name'],
    ['***', 'unknown'],
    ['ünïcode', 'n-code'],
  ])('reduces origin %j to %j', (origin, clean) => {
    expect(conflictPath('a', { ...options, origin })).toBe(`a.conflict-20240506T070809Z-${clean}-a1b2`);
  });

  it('gives two conflicts in one second different names through the random part', () => {
    const first = conflictPath('a.txt', { ...options, random4: '0000' });
    const second = conflictPath('a.txt', { ...options, random4: 'ffff' });
    expect(first).not.toBe(second);
  });

  it('lower-cases the random part and refuses anything but four hex digits', () => {
    expect(conflictPath('a', { ...options, random4: 'ABCD' })).toMatch(/-abcd$/);
    expect(() => conflictPath('a', { ...options, random4: 'xyz1' })).toThrow(RangeError);
    expect(() => conflictPath('a', { ...options, random4: '12345' })).toThrow(RangeError);
  });

  it('shortens a long name to fit 255 bytes and keeps the extension', () => {
    const kept = conflictPath(`dir/${'n'.repeat(250)}.txt`, options);
    const name = kept.slice('dir/'.length);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
    expect(name).toMatch(/^n+\.conflict-20240506T070809Z-host-1-a1b2\.txt$/);
  });

  it('never splits a multi-byte character when shortening', () => {
    const kept = conflictPath('é'.repeat(127), options);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(255);
    expect(kept).not.toContain('\uFFFD');
    expect(kept).toMatch(/^é+\.conflict-/);
  });

  it('treats an extension too long to keep as part of the name', () => {
    const kept = conflictPath(`a.${'x'.repeat(240)}`, options);
    expect(Buffer.byteLength(kept)).toBeLessThanOrEqual(255);
    expect(kept).toMatch(/\.conflict-20240506T070809Z-host-1-a1b2$/);
  });

  it('always gives a safe relative path', () => {
    for (const path of ['a', 'd/e/f.g', '.x', `${'z'.repeat(255)}`, 'sp ace/+%41.md']) {
      const kept = conflictPath(path, { ...options, origin: '../..//x' });
      expect(() => keyToPath(kept, '')).not.toThrow();
    }
  });
});
