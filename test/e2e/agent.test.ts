import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, LocalProcess, type Status } from '../support/bucketlink.ts';

const BIN = new URL('../../bin/bucketlink.mjs', import.meta.url).pathname;
/**
 * Acceptance 3 moves a directory of 1,000 files: BUCKETLINK_RENAME_FILES=1000.
 * The default is smaller because the initial export of 1,000 files through
 * the local pipeline takes minutes on a shared 2-core machine.
 */
const FILES = Number(process.env.BUCKETLINK_RENAME_FILES ?? 200);
/** Waits scale with the size: the local pipeline moves a few files per second under load. */
const WAIT = Math.max(60_000, FILES * 400);

interface Transfers {
  imports: number;
  exports: number;
  objectDeletes: number;
  fileDeletes: number;
  copies: number;
}

describe('the host agent with bucketlink local', () => {
  let local: LocalProcess;
  let agent: ChildProcess | undefined;
  const moves = () => join(local.root, 'moves');
  const transfers = async () => (await local.status()).transfers as unknown as Transfers;

  async function keys(prefix: string): Promise<string[]> {
    const found: string[] = [];
    let token: string | undefined;
    do {
      const page = await local.s3.send(
        new ListObjectsV2Command({ Bucket: 'moves', Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) found.push(object.Key!);
      token = page.NextContinuationToken;
    } while (token);
    return found;
  }

  beforeAll(async () => {
    local = await LocalProcess.start();
    await local.createBucket('moves');
    await local.associate('/moves', 's3://moves/');
  });
  afterAll(async () => {
    agent?.kill('SIGKILL');
    await local?.stop();
  });

  it(
    `applies mv dir1 dir2 of ${FILES} files as server-side copies, with no re-upload`,
    async () => {
      for (let d = 0; d < 10; d++) {
        await mkdir(join(moves(), 'dir1', `sub${d}`), { recursive: true });
        await Promise.all(
          Array.from({ length: FILES / 10 }, (_, f) =>
            writeFile(join(moves(), 'dir1', `sub${d}`, `f${f}.txt`), `file ${d}/${f}`),
          ),
        );
      }
      await eventually(async () => (await keys('dir1/')).length === FILES, WAIT).catch(async (error) => {
        throw new Error(`${(await keys('dir1/')).length} exported: ${JSON.stringify(await local.status())}`, {
          cause: error,
        });
      });
      await local.settle(WAIT);
      const before = await transfers();
      const bytesBefore = ((await local.status()) as Status & { bytes: { exported: number } }).bytes.exported;

      await rename(join(moves(), 'dir1'), join(moves(), 'dir2'));

      await eventually(
        async () => (await keys('dir2/')).length === FILES && (await keys('dir1/')).length === 0,
        WAIT,
      ).catch(async (error) => {
        const counts = `${(await keys('dir2/')).length} in dir2/, ${(await keys('dir1/')).length} in dir1/`;
        throw new Error(`${counts}: ${JSON.stringify(await local.status())}`, { cause: error });
      });
      await local.settle(WAIT);
      const after = await transfers();
      expect(after.copies - before.copies).toBe(FILES);
      // Nothing was uploaded again: no export, no byte.
      expect(after.exports).toBe(before.exports);
      expect(((await local.status()) as Status & { bytes: { exported: number } }).bytes.exported).toBe(
        bytesBefore,
      );
      // The old keys went with the rename, not as separate deletes.
      expect(after.objectDeletes).toBe(before.objectDeletes);
      const last = FILES / 10 - 1;
      const key = `dir2/sub7/f${last}.txt`;
      const sample = await local.s3.send(new GetObjectCommand({ Bucket: 'moves', Key: key }));
      expect(await sample.Body!.transformToString()).toBe(`file 7/${last}`);
      // The POSIX metadata moved with the object.
      const head = await local.s3.send(new HeadObjectCommand({ Bucket: 'moves', Key: key }));
      expect(head.Metadata?.['file-permissions']).toMatch(/^0100\d{3}$/);
      expect(head.Metadata?.['user-agent']).toBe('bucketlink');
    },
    4 * WAIT,
  );

  it('a separate `bucketlink agent` posts into the running `bucketlink local` through POST /events', async () => {
    const spool = await mkdtemp(join(tmpdir(), 'bucketlink-agent-spool-'));
    agent = spawn(
      process.execPath,
      [
        BIN,
        'agent',
        '--root',
        local.root,
        '--spool',
        spool,
        '--endpoint',
        local.controlEndpoint,
        '--quiet-ms',
        '100',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...local.cliEnv, POWERTOOLS_LOG_LEVEL: 'ERROR' },
      },
    );
    await new Promise((resolve) => createInterface({ input: agent!.stdout! }).once('line', resolve));
    const received = async () => ((await local.status()).events as { agentEntries: number }).agentEntries;
    const before = await received();
    await writeFile(join(moves(), 'from-agent.txt'), 'posted by a separate agent');
    await eventually(async () => (await received()) > before);
    const object = await eventually(() =>
      local.s3.send(new GetObjectCommand({ Bucket: 'moves', Key: 'from-agent.txt' })).catch(() => undefined),
    );
    expect(await object.Body!.transformToString()).toBe('posted by a separate agent');
  });
});
