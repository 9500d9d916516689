import { join } from 'node:path';
import { type ClientOptions, createDocumentClient } from '../adapters/clients.ts';
import type { SqliteLedger } from '../adapters/ledger-sqlite.ts';
import { defaultTableNames, ensureTables, type TableNames } from '../adapters/tables.ts';
import { SyncError } from '../core/errors.ts';
import { openEmbeddedLedger } from './ledger-embedded.ts';
import { type DynamoServer, startDynamoServer } from './peers.ts';
import { externalClientOptions } from './s3-source.ts';

/**
 * `--ledger`: where local mode keeps its ledger, associations and tasks.
 * `embedded` (the default) is SQLite under the state directory for the
 * ledger (src/local/ledger-embedded.ts) and dynalite for associations and tasks.
 * `dynamodb:LEDGER[,ASSOCIATIONS,TASKS]` is DynamoDB (AWS, or
 * `--dynamodb-endpoint`): a deployed stack's three tables, or tables of its
 * own (`LEDGER-associations`, `LEDGER-tasks` unless named; created when
 * missing). Several hosts on one shared file system run on one such ledger,
 * its leases keeping them off each other's paths.
 */

export type LedgerChoice = { kind: 'embedded' } | { kind: 'dynamodb'; tables: TableNames };

export function parseLedgerOption(value: string): LedgerChoice {
  if (value === 'embedded') return { kind: 'embedded' };
  const match = /^dynamodb:([\w.-]{3,255})(?:,([\w.-]{3,255}),([\w.-]{3,255}))?$/.exec(value);
  if (!match)
    throw new SyncError(
      'BadRequest',
      `--ledger ${value}: expected embedded or dynamodb:TABLE[,ASSOCIATIONS,TASKS]`,
    );
  const [, ledger, associations, tasks] = match;
  return {
    kind: 'dynamodb',
    tables: {
      ledger: ledger!,
      associations: associations ?? `${ledger}-associations`,
      tasks: tasks ?? `${ledger}-tasks`,
    },
  };
}

export interface LedgerSource {
  tables: TableNames;
  clientOptions: ClientOptions;
  /** `embedded`: the ledger itself, SQLite in the state directory (associations and tasks stay in `server`). */
  embedded?: SqliteLedger;
  /** The embedded server, to close with the runtime. */
  server?: DynamoServer;
}

export async function startLedgerSource(
  choice: LedgerChoice,
  options: {
    directory: string;
    state: string;
    host: string;
    endpoint?: string;
    region?: string;
    profile?: string;
  },
): Promise<LedgerSource> {
  if (choice.kind === 'embedded') {
    const server = await startDynamoServer({ directory: join(options.directory), host: options.host });
    const source = { tables: defaultTableNames(), clientOptions: { endpoint: server.endpoint }, server };
    await ensureTables(createDocumentClient(source.clientOptions), source.tables);
    return { ...source, embedded: await openEmbeddedLedger(options.state) };
  }
  const { forcePathStyle: _, ...clientOptions } = await externalClientOptions({
    endpoint: options.endpoint ?? 'aws',
    region: options.region,
    profile: options.profile,
  });
  try {
    await ensureTables(createDocumentClient(clientOptions), choice.tables);
  } catch (error) {
    const where = options.endpoint ?? `DynamoDB in ${clientOptions.region}`;
    throw new SyncError(
      'LedgerUnusable',
      `--ledger dynamodb:${choice.tables.ledger} at ${where}: ${(error as Error).name}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return { tables: choice.tables, clientOptions };
}
