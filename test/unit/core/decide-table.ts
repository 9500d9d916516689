import type { Decision, FsState, LedgerEntry, S3State, SyncPolicy } from '../../../src/core/types.ts';
import table from './decide-table.json' with { type: 'json' };

/**
 * Loads decide-table.json: resolves fixture names and `{ from, ...overrides }`
 * references, and builds ledger rows from the snapshots of named fixtures.
 */

type Ref = string | ({ from: string } & Record<string, unknown>) | null;
type Fixtures = Record<string, Record<string, unknown>>;

interface BaseRef {
  kind: LedgerEntry['kind'];
  fs: string;
  s3: string;
  state?: LedgerEntry['state'];
}

interface RawCase {
  name: string;
  base: BaseRef | null;
  fs: Ref;
  s3: Ref;
  policy: Ref;
  rootMounted: boolean;
  contentEqual?: boolean;
  expected: Decision;
}

export interface DecisionCase {
  name: string;
  base: LedgerEntry | undefined;
  fs: FsState | undefined;
  s3: S3State | undefined;
  policy: SyncPolicy;
  rootMounted: boolean;
  contentEqual?: boolean;
  expected: Decision;
}

function resolve<T>(fixtures: Fixtures, ref: Ref): T | undefined {
  if (ref === null) return undefined;
  const { from, ...overrides } = typeof ref === 'string' ? { from: ref } : ref;
  const named = fixtures[from];
  if (!named) throw new Error(`decide-table.json: no fixture named "${from}"`);
  const { from: parent, ...own } = named as { from?: string };
  const inherited = parent === undefined ? {} : resolve<object>(fixtures, parent);
  return { ...inherited, ...own, ...overrides } as T;
}

function ledgerEntry(ref: BaseRef): LedgerEntry {
  const fs = resolve<FsState>(table.fixtures.fs, ref.fs)!;
  const s3 = resolve<S3State>(table.fixtures.s3, ref.s3)!;
  return {
    associationId: 'dra-0123456789abcdef0',
    path: 'a',
    kind: ref.kind,
    state: ref.state ?? 'present',
    fs: { size: fs.size, mtimeNs: fs.mtimeNs, ctimeNs: fs.ctimeNs, ino: fs.ino, mode: fs.mode },
    s3: {
      etag: s3.etag,
      ...(s3.versionId ? { versionId: s3.versionId } : {}),
      lastModified: s3.lastModified,
      size: s3.size,
      metaHash: s3.metaHash,
    },
    rev: 1,
    syncedAtMs: 1_700_000_000_000,
  };
}

export const decisionCases: DecisionCase[] = (table.cases as RawCase[]).map((raw) => ({
  name: raw.name,
  base: raw.base ? ledgerEntry(raw.base) : undefined,
  fs: resolve<FsState>(table.fixtures.fs, raw.fs),
  s3: resolve<S3State>(table.fixtures.s3, raw.s3),
  policy: resolve<SyncPolicy>(table.fixtures.policy, raw.policy)!,
  rootMounted: raw.rootMounted,
  ...(raw.contentEqual !== undefined ? { contentEqual: raw.contentEqual } : {}),
  expected: raw.expected,
}));
