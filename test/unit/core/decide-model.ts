import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type {
  Decision,
  FsState,
  LedgerEntry,
  NodeKind,
  S3State,
  SyncPolicy,
} from '../../../src/core/types.ts';

/**
 * A one-path reference model of both sides for property tests: each side is
 * a node with a content id, and acting on a decision does to the model what
 * `apply` does to the world.
 */

export type FsNode = FsState & { content: number };
export type S3Node = S3State & { content: number };

export interface World {
  base: LedgerEntry | undefined;
  fs: FsNode | undefined;
  s3: S3Node | undefined;
  /** Seconds since T0, advanced by every action. */
  clock: number;
}

const T0 = 1_700_000_000;
const TYPE_BITS: Record<NodeKind, number> = { file: 0o100000, dir: 0o040000, symlink: 0o120000 };
const SIZES = [5, 5, 6, 7];

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
/** Equal mtimes imply equal content, so mtime-based equality in the model is never a false positive. */
const mtimeNsOf = (content: number, variant: number) => `${T0 + content * 1000 + variant * 10}000000000`;
const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
const nsToIso = (ns: string) => iso(Number(BigInt(ns) / 1_000_000_000n));

export function snapshotRow(fs: FsNode, s3: S3Node): LedgerEntry {
  return {
    associationId: 'dra-model',
    path: 'a',
    kind: fs.kind,
    state: 'present',
    fs: { size: fs.size, mtimeNs: fs.mtimeNs, ctimeNs: fs.ctimeNs, ino: fs.ino, mode: fs.mode },
    s3: { etag: s3.etag, lastModified: s3.lastModified, size: s3.size, metaHash: s3.metaHash },
    rev: 1,
    syncedAtMs: 0,
  };
}

/** What export leaves in S3: the file's content and its metadata. */
export function exported(fs: FsNode, clock: number): S3Node {
  const meta = { mode: fs.mode, uid: fs.uid, gid: fs.gid, mtimeNs: fs.mtimeNs };
  const isDir = fs.kind === 'dir';
  return {
    kind: fs.kind,
    key: isDir ? 'a/' : 'a',
    content: fs.content,
    etag: md5(isDir ? '' : String(fs.content)),
    lastModified: iso(T0 + clock),
    size: isDir ? 0 : fs.size,
    metaHash: JSON.stringify([meta.mode, meta.mtimeNs]),
    meta,
  };
}

/** What import leaves on the file system: the object's content, mode and mtime, a new inode. */
export function imported(s3: S3Node, previous: FsNode | undefined, clock: number): FsNode {
  const perms = s3.meta.mode !== undefined ? s3.meta.mode & 0o7777 : s3.kind === 'dir' ? 0o755 : 0o644;
  const isDir = s3.kind === 'dir';
  return {
    kind: s3.kind,
    content: s3.content,
    size: isDir ? 4096 : s3.size,
    mtimeNs: s3.meta.mtimeNs ?? `${BigInt(Date.parse(s3.lastModified)) * 1_000_000n}`,
    ctimeNs: `${T0 + 100_000 + clock}000000000`,
    ino: `i${clock}`,
    mode: TYPE_BITS[s3.kind] | perms,
    uid: 0,
    gid: 0,
    ...(isDir
      ? { hasChildren: previous?.kind === 'dir' ? Boolean(previous.hasChildren) : Boolean(s3.implied) }
      : {}),
  };
}

/** Does to the world what `apply` does for a decision. */
export function act(world: World, decision: Decision): World {
  const clock = world.clock + 1;
  const { fs, s3 } = world;
  switch (decision.action) {
    case 'record':
      return { ...world, clock, base: snapshotRow(fs!, s3!) };
    case 'export': {
      const object = exported(fs!, clock);
      return { ...world, clock, s3: object, base: snapshotRow(fs!, object) };
    }
    case 'import':
    case 'keepBoth': {
      const file = imported(s3!, fs, clock);
      return { ...world, clock, fs: file, base: snapshotRow(file, s3!) };
    }
    case 'deleteObject':
      return { ...world, clock, s3: undefined, base: undefined };
    case 'deleteFile':
      return { ...world, clock, fs: undefined, base: undefined };
    case 'dropLedger':
      return { ...world, clock, base: undefined };
    default:
      return world;
  }
}

const kindArb = fc.constantFrom<NodeKind>('file', 'file', 'dir', 'symlink');

export const fsNodeArb: fc.Arbitrary<FsNode> = fc
  .record({
    kind: kindArb,
    content: fc.integer({ min: 0, max: 3 }),
    variant: fc.integer({ min: 0, max: 1 }),
    chmodLater: fc.boolean(),
    ino: fc.constantFrom('1', '2'),
    perms: fc.constantFrom(0o644, 0o755, 0o600),
    hasChildren: fc.boolean(),
  })
  .map(({ kind, content, variant, chmodLater, ino, perms, hasChildren }) => {
    const mtimeNs = mtimeNsOf(kind === 'dir' ? 0 : content, variant);
    return {
      kind,
      content: kind === 'dir' ? 0 : content,
      size: kind === 'dir' ? 4096 : SIZES[content]!,
      mtimeNs,
      ctimeNs: chmodLater ? `${BigInt(mtimeNs) + 5_000_000_000n}` : mtimeNs,
      ino,
      mode: TYPE_BITS[kind] | perms,
      uid: 1000,
      gid: 1000,
      ...(kind === 'dir' ? { hasChildren } : {}),
    };
  });

export const s3NodeArb: fc.Arbitrary<S3Node> = fc
  .record({
    kind: kindArb,
    content: fc.integer({ min: 0, max: 3 }),
    variant: fc.integer({ min: 0, max: 1 }),
    withMtime: fc.boolean(),
    perms: fc.option(fc.constantFrom(0o644, 0o755, 0o600), { nil: undefined }),
    multipart: fc.boolean(),
    implied: fc.boolean(),
  })
  .map(({ kind, content, variant, withMtime, perms, multipart, implied }): S3Node => {
    if (kind === 'dir' && implied) {
      return {
        kind,
        key: 'a/',
        content: 0,
        etag: '',
        lastModified: iso(0),
        size: 0,
        metaHash: '[]',
        meta: {},
        implied,
      };
    }
    const c = kind === 'dir' ? 0 : content;
    const mtimeNs = mtimeNsOf(c, variant);
    const meta = {
      ...(perms !== undefined ? { mode: TYPE_BITS[kind] | perms } : {}),
      ...(withMtime ? { mtimeNs } : {}),
    };
    const etag = md5(kind === 'dir' ? '' : String(c));
    return {
      kind,
      key: kind === 'dir' ? 'a/' : 'a',
      content: c,
      etag: multipart && kind !== 'dir' ? `${etag}-2` : etag,
      lastModified: nsToIso(mtimeNs),
      size: kind === 'dir' ? 0 : SIZES[c]!,
      metaHash: JSON.stringify([meta.mode, meta.mtimeNs]),
      meta,
    };
  });

const changesArb = fc.subarray(['NEW', 'CHANGED', 'DELETED'] as const).map((kinds) => [...kinds]);
const conflictArb = fc.constantFrom('KEEP_BOTH', 'S3_WINS', 'FS_WINS', 'NEWER') as fc.Arbitrary<
  SyncPolicy['conflictPolicy']
>;

export const policyArb: fc.Arbitrary<SyncPolicy> = fc.record({
  autoImport: changesArb,
  autoExport: changesArb,
  conflictPolicy: conflictArb,
});

export const fullPolicyArb: fc.Arbitrary<SyncPolicy> = conflictArb.map((conflictPolicy) => ({
  autoImport: ['NEW', 'CHANGED', 'DELETED'],
  autoExport: ['NEW', 'CHANGED', 'DELETED'],
  conflictPolicy,
}));

/**
 * A world after some history: a base recorded when both sides were equal
 * (or none, or a tombstone), then each side kept, replaced or deleted.
 */
export const worldArb: fc.Arbitrary<World> = fc
  .record({
    synced: fsNodeArb,
    baseState: fc.constantFrom('present', 'present', 'deleted', 'none'),
    fsMove: fc.constantFrom('keep', 'replace', 'delete'),
    s3Move: fc.constantFrom('keep', 'replace', 'delete'),
    fsNew: fsNodeArb,
    s3New: s3NodeArb,
  })
  .map(({ synced, baseState, fsMove, s3Move, fsNew, s3New }) => {
    const syncedObject = exported(synced, 0);
    const row = snapshotRow(synced, syncedObject);
    const base = baseState === 'none' ? undefined : { ...row, state: baseState as LedgerEntry['state'] };
    const pick = <T>(move: string, kept: T, replaced: T) =>
      move === 'keep' ? kept : move === 'replace' ? replaced : undefined;
    return { base, fs: pick(fsMove, synced, fsNew), s3: pick(s3Move, syncedObject, s3New), clock: 0 };
  });
