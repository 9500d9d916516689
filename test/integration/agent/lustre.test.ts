import { copyFile, link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS } from '../../../src/adapters/clients.ts';
import { HostAgent } from '../../../src/agent/agent.ts';
import { LustreChangelogReader } from '../../../src/agent/changelog.ts';
import { sequence } from '../../../src/agent/coalesce.ts';
import { Spool, SpoolFullError } from '../../../src/agent/spool.ts';
import type { FileSystemChange } from '../../../src/core/events.ts';
import { eventually } from '../../support/bucketlink.ts';
import { PutEventsReceiver } from './put-events-receiver.ts';

const FIXTURES = new URL('../../fixtures/lustre/', import.meta.url).pathname;
const LFS = join(FIXTURES, 'lfs');

/** What the recorded changelog means, coalesced per path (the tree below is its end state). */
const EXPECTED: Array<Pick<FileSystemChange, 'path' | 'op' | 'oldPath' | 'kind'>> = [
  { path: '/pics', op: 'created', kind: 'dir' },
  { path: '/pics/chloe.jpg', op: 'created', kind: 'file' },
  { path: '/pics/old name.txt', op: 'created' },
  { path: '/pics/new name.txt', op: 'renamed', oldPath: '/pics/old name.txt', kind: 'file' },
  { path: '/scratch.tmp', op: 'deleted' },
  { path: '/notes.md', op: 'attrib', kind: 'file' },
  { path: '/pics/big.bin', op: 'modified', kind: 'file' },
  { path: '/chloe-link.jpg', op: 'created', kind: 'file' },
  { path: '/latest', op: 'created', kind: 'symlink' },
  { path: '/tmpdir', op: 'deleted' },
  // A directory renamed: one record, fanned out over its subtree.
  { path: '/archive', op: 'renamed', oldPath: '/albums', kind: 'dir' },
  { path: '/archive/a.jpg', op: 'renamed', oldPath: '/albums/a.jpg', kind: 'file' },
  { path: '/archive/sub', op: 'renamed', oldPath: '/albums/sub', kind: 'dir' },
  { path: '/archive/sub/b.jpg', op: 'renamed', oldPath: '/albums/sub/b.jpg', kind: 'file' },
];

const shape = (c: FileSystemChange) => ({
  path: c.path,
  op: c.op,
  ...(c.oldPath ? { oldPath: c.oldPath } : {}),
  ...(c.kind ? { kind: c.kind } : {}),
});

describe('Lustre changelog through a fake lfs', () => {
  let base: string;
  let mount: string;
  let lfsState: string;

  beforeEach(async () => {
    base = await mkdtemp(join(tmpdir(), 'bucketlink-lustre-'));
    mount = join(base, 'mnt');
    lfsState = join(base, 'lfs');
    await mkdir(join(mount, 'pics'), { recursive: true });
    await mkdir(lfsState);
    await copyFile(join(FIXTURES, 'changelog.txt'), join(lfsState, 'changelog.txt'));
    await copyFile(join(FIXTURES, 'fids.tsv'), join(lfsState, 'fids.tsv'));
    process.env.FAKE_LFS_DIR = lfsState;
    await writeFile(join(mount, 'pics', 'chloe.jpg'), 'jpeg');
    await writeFile(join(mount, 'pics', 'new name.txt'), 'renamed');
    await writeFile(join(mount, 'notes.md'), 'notes');
    await writeFile(join(mount, 'pics', 'big.bin'), '');
    await link(join(mount, 'pics', 'chloe.jpg'), join(mount, 'chloe-link.jpg'));
    await symlink('pics/chloe.jpg', join(mount, 'latest'));
    await mkdir(join(mount, 'archive', 'sub'), { recursive: true });
    await writeFile(join(mount, 'archive', 'a.jpg'), 'a');
    await writeFile(join(mount, 'archive', 'sub', 'b.jpg'), 'b');
  });
  afterEach(async () => {
    delete process.env.FAKE_LFS_DIR;
    await rm(base, { recursive: true, force: true });
  });

  const clears = async () =>
    (await readFile(join(lfsState, 'clear.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

  it('posts the expected events and clears the changelog up to the last record', async () => {
    const receiver = new PutEventsReceiver();
    await receiver.open();
    const agent = new HostAgent({
      root: mount,
      spoolDirectory: join(base, 'spool'),
      busName: 'bucketlink',
      host: 'lustre-client-1',
      client: new EventBridgeClient({
        region: 'us-east-1',
        endpoint: receiver.endpoint,
        credentials: LOCAL_CREDENTIALS,
      }),
      lustre: { lfs: LFS, mdt: 'lustre-MDT0000', user: 'cl1', pollMs: 200 },
    });
    try {
      await agent.start();
      await eventually(async () => agent.counters().posted > 0 && agent.counters().spoolDepth === 0);
      expect(receiver.changes().map(shape)).toEqual(EXPECTED);
      expect(receiver.entries.every((entry) => entry.host === 'lustre-client-1')).toBe(true);
      const chloe = receiver.changes().find((c) => c.path === '/pics/chloe.jpg')!;
      const link = receiver.changes().find((c) => c.path === '/chloe-link.jpg')!;
      // The hard link carries the same inode, which is how plan tells it from a rename.
      expect(link.ino).toBe(chloe.ino);
      expect(await clears()).toEqual(['lustre-MDT0000 cl1 17']);
      expect(agent.counters().changelogRecords).toBe(17);
    } finally {
      await agent.close();
      await receiver.close();
    }
  });

  it('spools and clears in batches of 1,000 records when batchRecords is passed as undefined', async () => {
    const submitted: FileSystemChange[][] = [];
    const reader = new LustreChangelogReader({
      lfs: LFS,
      mdt: 'lustre-MDT0000',
      user: 'cl1',
      mount,
      nextSeq: sequence(),
      batchRecords: undefined,
      submit: async (changes) => void submitted.push(changes),
    });

    expect(await reader.poll()).toBe(17);
    // All 17 records fit one default batch: one submit, one clear.
    expect(submitted).toHaveLength(1);
    expect(await clears()).toEqual(['lustre-MDT0000 cl1 17']);
  });

  it('clears only up to the last record it spooled when the spool fills up', async () => {
    const spool = await Spool.open({ directory: join(base, 'spool'), maxBytes: 1_400 });
    const reader = new LustreChangelogReader({
      lfs: LFS,
      mdt: 'lustre-MDT0000',
      user: 'cl1',
      mount,
      nextSeq: sequence(),
      batchRecords: 4,
      submit: async (changes) => {
        await spool.append([
          { Source: 's', DetailType: 'd', Detail: JSON.stringify(changes), EventBusName: 'b' },
        ]);
      },
    });
    await expect(reader.poll()).rejects.toBeInstanceOf(SpoolFullError);
    const cleared = await clears();
    expect(cleared.length).toBeGreaterThan(0);
    const last = Number(cleared.at(-1)!.split(' ')[2]);
    // Each clear names the last record of a spooled batch, and nothing past what was spooled.
    expect(cleared.map((line) => Number(line.split(' ')[2]))).toEqual(
      Array.from({ length: cleared.length }, (_, i) => 4 * (i + 1)),
    );
    expect(last).toBeLessThan(17);
    const spooledPaths = spool
      .pending()
      .flatMap((r) => (JSON.parse(r.entry.Detail) as FileSystemChange[]).map((c) => c.path));
    expect(spooledPaths).not.toContain('/tmpdir');

    // Once the bus has taken the spooled entries, the rest of the changelog follows.
    await spool.ack(spool.pending().map((r) => r.id));
    await reader.poll().catch(async (error) => {
      if (!(error instanceof SpoolFullError)) throw error;
      await spool.ack(spool.pending().map((r) => r.id));
      await reader.poll();
    });
    expect((await clears()).at(-1)).toBe('lustre-MDT0000 cl1 17');
  });
});
