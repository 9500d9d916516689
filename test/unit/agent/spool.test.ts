import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool, type SpoolEntry, SpoolFullError } from '../../../src/agent/spool.ts';

const entry = (n: number): SpoolEntry => ({
  Source: 'bucketlink.agent',
  DetailType: 'File System Change',
  Detail: JSON.stringify({ n }),
  EventBusName: 'bucketlink',
});

describe('Spool', () => {
  let directory: string;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'bucketlink-spool-'));
  });
  afterEach(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('keeps what was not acknowledged across a reopen, in order', async () => {
    const spool = await Spool.open({ directory });
    const records = await spool.append([entry(1), entry(2), entry(3)]);
    await spool.ack([records[1]!.id]);
    const reopened = await Spool.open({ directory });
    expect(reopened.pending().map((r) => JSON.parse(r.entry.Detail).n)).toEqual([1, 3]);
    expect(reopened.depth()).toBe(2);
  });

  it('hands out new ids after a reopen, so a new entry is never taken for an acknowledged one', async () => {
    const spool = await Spool.open({ directory });
    const [first] = await spool.append([entry(1), entry(2)]);
    await spool.ack([first!.id]);
    const reopened = await Spool.open({ directory });
    const [next] = await reopened.append([entry(3)]);
    expect(next!.id).toBeGreaterThan(first!.id + 1);
  });

  it('drops a torn last line left by a crash mid-append and keeps the rest', async () => {
    const spool = await Spool.open({ directory });
    await spool.append([entry(1)]);
    await appendFile(join(directory, 'spool.jsonl'), '{"id":2,"at":1,"entry":{"Sou');
    const reopened = await Spool.open({ directory });
    expect(reopened.pending().map((r) => JSON.parse(r.entry.Detail).n)).toEqual([1]);
    await reopened.append([entry(4)]);
    const again = await Spool.open({ directory });
    expect(again.pending().map((r) => JSON.parse(r.entry.Detail).n)).toEqual([1, 4]);
  });

  it('empties its files once everything is acknowledged', async () => {
    const spool = await Spool.open({ directory });
    const records = await spool.append([entry(1), entry(2)]);
    await spool.ack(records.map((r) => r.id));
    expect(await readFile(join(directory, 'spool.jsonl'), 'utf8')).toBe('');
    expect(await readFile(join(directory, 'acks.jsonl'), 'utf8')).toBe('');
    expect(spool.bytes()).toBe(0);
  });

  it('compacts a mostly acknowledged spool without losing the pending entries', async () => {
    const spool = await Spool.open({ directory });
    const records = await spool.append(Array.from({ length: 1200 }, (_, i) => entry(i)));
    const before = spool.bytes();
    await spool.ack(records.slice(0, 1100).map((r) => r.id));
    expect(spool.bytes()).toBeLessThan(before / 4);
    const reopened = await Spool.open({ directory });
    expect(reopened.pending().map((r) => JSON.parse(r.entry.Detail).n)).toEqual(
      Array.from({ length: 100 }, (_, i) => 1100 + i),
    );
  });

  it('refuses appends past its bound, and accepts again once entries are acknowledged', async () => {
    const spool = await Spool.open({ directory, maxBytes: 600 });
    const records = await spool.append([entry(1), entry(2), entry(3)]);
    await expect(spool.append([entry(4), entry(5), entry(6)])).rejects.toBeInstanceOf(SpoolFullError);
    expect(spool.depth()).toBe(3);
    await spool.ack(records.map((r) => r.id));
    await spool.append([entry(7)]);
    expect(spool.pending().map((r) => JSON.parse(r.entry.Detail).n)).toEqual([7]);
  });

  it('reports the age of the oldest unacknowledged entry', async () => {
    const spool = await Spool.open({ directory });
    expect(spool.oldestAgeMs()).toBe(0);
    const [record] = await spool.append([entry(1)]);
    expect(spool.oldestAgeMs(record!.at + 1234)).toBe(1234);
  });
});
