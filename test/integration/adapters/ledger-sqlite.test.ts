import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOMBSTONE_TTL_MS } from '../../../src/adapters/ledger-items.ts';
import { SqliteLedger } from '../../../src/adapters/ledger-sqlite.ts';
import { openEmbeddedLedger } from '../../../src/local/ledger-embedded.ts';
import { collect, ledgerContract, newAssociationId, presentFile } from './ledger-contract.ts';

let directory: string;
/** Every ledger a test opened, closed at the end. */
const opened: SqliteLedger[] = [];

function open(path: string, now?: () => number): SqliteLedger {
  const ledger = new SqliteLedger({ path, ...(now ? { now } : {}) });
  opened.push(ledger);
  return ledger;
}

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'bucketlink-ledger-'));
});

afterAll(async () => {
  for (const ledger of opened) ledger.close();
  await rm(directory, { recursive: true, force: true });
});

// Every ledger of one suite is a connection to the same file, as separate workers would hold.
let fileReader: SqliteLedger | undefined;
ledgerContract('SqliteLedger on a file', () => {
  const file = join(directory, 'contract.sqlite');
  return {
    ledger: (now) => open(file, now),
    inspect: async (associationId, path) => {
      fileReader ??= open(file);
      return fileReader.inspect(associationId, path);
    },
  };
});

// ':memory:' is one database per connection, so the suite shares one ledger whose clock it moves.
const memoryClock = { now: () => Date.now() };
let memory: SqliteLedger | undefined;
ledgerContract('SqliteLedger in memory', () => {
  memory ??= open(':memory:', () => memoryClock.now());
  const shared = memory;
  return {
    ledger: (now) => {
      memoryClock.now = now;
      return shared;
    },
    inspect: async (associationId, path) => shared.inspect(associationId, path),
  };
});

describe('SqliteLedger on disk', () => {
  it('keeps its rows across a reopen, as local mode does across a restart', async () => {
    const path = join(directory, 'reopen.sqlite');
    const id = newAssociationId();
    const first = open(path);
    const got = await first.acquire(id, 'kept', 'w1', 60_000);
    if (!got.acquired) throw new Error('no lease');
    await first.commit(id, 'kept', got.lease, presentFile('5'));
    first.close();

    const second = open(path);
    expect(await second.get(id, 'kept')).toMatchObject({ rev: 1, state: 'present', fs: { ino: '5' } });
    expect((await second.findByIno(id, '5')).map((entry) => entry.path)).toEqual(['kept']);
  });

  it('purges expired tombstones that hold no lease, as TTL does on AWS, and keeps the rest', async () => {
    const clock = { now: 1_700_000_000_000 };
    const ledger = open(join(directory, 'purge.sqlite'), () => clock.now);
    const id = newAssociationId();
    for (const [path, state] of [
      ['gone', 'deleted'],
      ['here', 'present'],
      ['leased', 'deleted'],
    ] as const) {
      const got = await ledger.acquire(id, path, 'w', 60_000);
      if (!got.acquired) throw new Error('no lease');
      await ledger.commit(
        id,
        path,
        got.lease,
        state === 'present' ? presentFile() : { kind: 'file', state, syncedAtMs: 1 },
      );
    }
    clock.now += TOMBSTONE_TTL_MS + 1_000;
    await ledger.acquire(id, 'leased', 'w2', 60_000);

    expect(ledger.purgeExpired()).toBe(1);
    expect(ledger.inspect(id, 'gone')).toBeUndefined();
    expect(ledger.inspect(id, 'leased')).toMatchObject({ leaseOwner: 'w2' });
    expect((await collect(ledger.list(id))).map((entry) => entry.path)).toEqual(['here']);
  });

  it('pages a list longer than one page in path order', async () => {
    const ledger = open(join(directory, 'pages.sqlite'));
    const id = newAssociationId();
    const paths = Array.from({ length: 2_345 }, (_, i) => `p${String(i).padStart(5, '0')}`);
    for (const path of paths) {
      const got = await ledger.acquire(id, path, 'w', 60_000);
      if (got.acquired) await ledger.commit(id, path, got.lease, presentFile());
    }
    const pages: number[] = [];
    for await (const page of ledger.list(id)) pages.push(page.length);
    expect(pages).toEqual([1_000, 1_000, 345]);
    expect((await collect(ledger.list(id))).map((entry) => entry.path)).toEqual(paths);
  });

  it('is what local mode opens under its state directory', async () => {
    const state = join(directory, 'state');
    const embedded = await openEmbeddedLedger(state);
    const id = newAssociationId();
    const got = await embedded.acquire(id, 'x', 'w', 60_000);
    if (!got.acquired) throw new Error('no lease');
    await embedded.commit(id, 'x', got.lease, presentFile());
    embedded.close();
    expect(await open(join(state, 'ledger.sqlite')).get(id, 'x')).toMatchObject({ rev: 1 });
  });
});
