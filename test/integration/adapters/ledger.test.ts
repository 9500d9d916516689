import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../src/adapters/clients.ts';
import { DynamoLedger } from '../../../src/adapters/ledger.ts';
import type { Lease, LedgerWrite } from '../../../src/adapters/ports.ts';
import {
  defaultTableNames,
  ensureTables,
  LEDGER_SHARDS,
  ledgerPartition,
  ledgerShard,
} from '../../../src/adapters/tables.ts';
import { LeaseHeldError } from '../../../src/core/errors.ts';
import { type DynamoServer, startDynamoServer } from '../../../src/local/peers.ts';
import { Interleaver } from './interleaver.ts';
import { ledgerContract, newAssociationId, presentFile } from './ledger-contract.ts';

const names = defaultTableNames('ledger-test');
const TTL = 60_000;
let server: DynamoServer;
let client: DynamoDBDocumentClient;

async function rawRow(associationId: string, path: string) {
  const { Item } = await client.send(
    new GetCommand({ TableName: names.ledger, Key: { pk: ledgerPartition(associationId, path), sk: path } }),
  );
  return Item;
}

beforeAll(async () => {
  server = await startDynamoServer({});
  client = createDocumentClient({ endpoint: server.endpoint });
  await ensureTables(client, names);
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
});

describe('ledger partitioning', () => {
  it('puts siblings in one shard and spreads directories over all shards', () => {
    expect(ledgerShard('a/b/one')).toBe(ledgerShard('a/b/two'));
    const shards = new Set(Array.from({ length: 200 }, (_, i) => ledgerShard(`dir-${i}/file`)));
    expect(shards.size).toBe(LEDGER_SHARDS);
    expect(ledgerPartition('dra-1', 'top')).toBe(`dra-1#${ledgerShard('x')}`);
  });
});

ledgerContract('DynamoLedger on dynalite', () => ({
  ledger: (now) => new DynamoLedger({ client, tableName: names.ledger, now }),
  inspect: async (associationId, path) => {
    const row = await rawRow(associationId, path);
    if (!row) return undefined;
    const prefix = `${associationId}#`;
    return {
      ...(row.leaseOwner !== undefined ? { leaseOwner: String(row.leaseOwner) } : {}),
      wanted: Number(row.wanted ?? 0),
      ...(row.inoKey !== undefined ? { ino: String(row.inoKey).slice(prefix.length) } : {}),
      ...(row.expiresAt !== undefined ? { expiresAt: Number(row.expiresAt) } : {}),
    };
  },
}));

describe('DynamoLedger under arbitrary interleavings', () => {
  type Step = 'commit' | 'tombstone' | 'drop' | 'release';
  /** What a worker saw; `ended` is a commit or release. */
  type WorkerEvent =
    | { owner: string; type: 'acquired' }
    | { owner: string; type: 'lost' }
    | { owner: string; type: 'ended'; rerun: boolean };
  /** A worker event placed in server order. */
  type Observed = WorkerEvent & { seq: number };
  type Observe = (event: WorkerEvent) => void;

  /** One owner: acquire when not holding, otherwise end the lease as the step says; release at the end. */
  async function worker(ledger: DynamoLedger, id: string, owner: string, steps: Step[], observe: Observe) {
    let lease: Lease | undefined;
    for (const step of steps) {
      if (!lease) {
        const result = await ledger.acquire(id, 'p', owner, TTL).catch((error: unknown) => {
          // Only after the lease changed hands five times mid-acquire; nothing was bumped.
          if (error instanceof LeaseHeldError) return undefined;
          throw error;
        });
        if (result?.acquired) lease = result.lease;
        if (result) observe({ owner, type: result.acquired ? 'acquired' : 'lost' });
        continue;
      }
      const write: LedgerWrite =
        step === 'drop'
          ? null
          : step === 'tombstone'
            ? { kind: 'file', state: 'deleted', syncedAtMs: 1 }
            : presentFile();
      const { rerun } =
        step === 'release'
          ? await ledger.release(id, 'p', lease)
          : await ledger.commit(id, 'p', lease, write);
      lease = undefined;
      observe({ owner, type: 'ended', rerun });
    }
    if (lease) observe({ owner, type: 'ended', ...(await ledger.release(id, 'p', lease)) });
  }

  it('never lets two owners hold the lease and never loses a wanted signal', async () => {
    const step = fc.constantFrom<Step>('commit', 'tombstone', 'drop', 'release');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(step, { minLength: 1, maxLength: 6 }), { minLength: 3, maxLength: 3 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 64 }),
        async (scripts, choices) => {
          const id = newAssociationId();
          const interleaver = new Interleaver();
          const observed: Observed[] = [];
          const workers = scripts.map((steps, index) => {
            const owner = `w${index}`;
            let lastSeq = 0;
            const ledger = new DynamoLedger({
              client: interleaver.client(client, (seq) => {
                lastSeq = seq;
              }),
              tableName: names.ledger,
            });
            // An operation's effect takes place at its last successful request.
            return () =>
              worker(ledger, id, owner, steps, (event) => observed.push({ ...event, seq: lastSeq }));
          });

          await interleaver.run(workers, choices);

          let holder: string | undefined;
          let asked = false;
          for (const event of observed.sort((a, b) => a.seq - b.seq)) {
            if (event.type === 'acquired') {
              expect(holder).toBeUndefined();
              holder = event.owner;
              asked = false;
            } else if (event.type === 'lost') {
              expect(holder).toBeDefined();
              expect(holder).not.toBe(event.owner);
              asked = true;
            } else {
              expect(event.owner).toBe(holder);
              expect(event.rerun).toBe(asked);
              holder = undefined;
            }
          }
          expect(holder).toBeUndefined();
          expect((await rawRow(id, 'p'))?.leaseOwner).toBeUndefined();
        },
      ),
      { numRuns: 60 },
    );
  });
});
