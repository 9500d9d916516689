import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteLedger } from '../adapters/ledger-sqlite.ts';

/** The embedded ledger's file under a state directory. */
export const EMBEDDED_LEDGER_FILE = 'ledger.sqlite';

/**
 * Local mode's default ledger: SQLite in `<state>/ledger.sqlite`, in
 * process, no network hop. Expired tombstones are purged on open (SQLite
 * has no TTL). The one place `bucketlink local` builds its ledger, so a
 * `--ledger` choice (a DynamoDB table) replaces this call and nothing else.
 */
export async function openEmbeddedLedger(state: string): Promise<SqliteLedger> {
  await mkdir(state, { recursive: true });
  const ledger = new SqliteLedger({ path: join(state, EMBEDDED_LEDGER_FILE) });
  ledger.purgeExpired();
  return ledger;
}
