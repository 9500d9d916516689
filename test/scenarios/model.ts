/**
 * The reference model of one association: what the file-system side and the
 * S3 side each hold (leaf entries only: files, symlinks, empty directories;
 * non-empty directories are implied by their children on both sides), and
 * the three-way merge the guarantees promise once changes stop.
 */

export type Entry =
  | { kind: 'file'; content: string; mode: number }
  | { kind: 'symlink'; target: string }
  | { kind: 'dir' };

export type Tree = Map<string, Entry>;

/** Paths the generated operations use, by kind, so a path never changes kind. */
export const FILES = ['f1', 'f2', 'sub/f3', 'sub/deep/f5', 'moved/f3', 'moved/deep/f5'] as const;
export const EMPTY_DIRS = ['e1', 'e2'] as const;
export const SYMLINKS = ['l1', 'l2'] as const;
export const LINK_TARGETS = ['f1', 'sub', '../../outside', '/etc/passwd'] as const;
export const RENAMED_DIRS = ['sub', 'moved'] as const;
export const MODES = [0o644, 0o600, 0o755] as const;

export type Op =
  | { side: 'fs' | 's3'; kind: 'write'; path: string; append: boolean; mode: number }
  | { side: 'fs'; kind: 'chmod'; path: string; mode: number }
  | { side: 'fs' | 's3'; kind: 'delete'; path: string }
  | { side: 'fs' | 's3'; kind: 'mkdir' | 'rmdir'; path: string }
  | { side: 'fs' | 's3'; kind: 'symlink'; path: string; target: string }
  | { side: 'fs' | 's3'; kind: 'rename'; from: string; to: string }
  | { side: 'fs' | 's3'; kind: 'renameDir'; from: string; to: string };

export function entriesEqual(a: Entry | undefined, b: Entry | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'file' && b.kind === 'file') return a.content === b.content && a.mode === b.mode;
  if (a.kind === 'symlink' && b.kind === 'symlink') return a.target === b.target;
  return true;
}

const under = (tree: Tree, dir: string) => [...tree.keys()].some((p) => p.startsWith(`${dir}/`));

/** Whether a side can take the operation now (the generator may propose impossible ones; they are skipped). */
export function applicable(tree: Tree, op: Op): boolean {
  switch (op.kind) {
    case 'write':
      return !op.append || tree.get(op.path)?.kind === 'file';
    case 'chmod': {
      // A chmod to the mode a file already has moves only its ctime, which bucketlink cannot tell
      // from a same-size rewrite that kept the mtime: it counts as a change (a conflict against an
      // S3 write), while this model's entries would not see one. Only real mode changes are drawn.
      const entry = tree.get(op.path);
      return entry?.kind === 'file' && entry.mode !== op.mode;
    }
    case 'delete':
      return tree.has(op.path) && tree.get(op.path)?.kind !== 'dir';
    case 'mkdir':
      return !tree.has(op.path);
    case 'rmdir':
      return tree.get(op.path)?.kind === 'dir';
    case 'symlink':
      return !tree.has(op.path);
    case 'rename':
      return tree.get(op.from)?.kind === 'file' && !tree.has(op.to);
    case 'renameDir':
      return under(tree, op.from) && !under(tree, op.to);
  }
}

/** Applies an operation to one side's model; `content` is the unique body a write adds. */
export function applyOp(tree: Tree, op: Op, content: string): void {
  switch (op.kind) {
    case 'write': {
      const old = tree.get(op.path);
      const body = op.append && old?.kind === 'file' ? old.content + content : content;
      // A plain overwrite on the file system keeps the mode; S3 puts carry the generated one.
      const mode = op.side === 'fs' && old?.kind === 'file' ? old.mode : op.mode;
      tree.set(op.path, { kind: 'file', content: body, mode });
      return;
    }
    case 'chmod': {
      const old = tree.get(op.path) as Extract<Entry, { kind: 'file' }>;
      tree.set(op.path, { ...old, mode: op.mode });
      return;
    }
    case 'delete':
    case 'rmdir':
      tree.delete(op.path);
      return;
    case 'mkdir':
      tree.set(op.path, { kind: 'dir' });
      return;
    case 'symlink':
      tree.set(op.path, { kind: 'symlink', target: op.target });
      return;
    case 'rename':
      tree.set(op.to, tree.get(op.from)!);
      tree.delete(op.from);
      return;
    case 'renameDir':
      for (const [path, entry] of [...tree]) {
        if (!path.startsWith(`${op.from}/`)) continue;
        tree.delete(path);
        tree.set(`${op.to}/${path.slice(op.from.length + 1)}`, entry);
      }
      return;
  }
}

/** A conflict the merge expects: the S3 version took `path`, the file-system version is kept beside it. */
export interface ExpectedConflict {
  path: string;
  kept: Entry;
}

/**
 * The state both sides must reach after the round's changes (KEEP_BOTH):
 * a side that alone changed a path wins; a modification beats a deletion;
 * when both changed it differently the S3 version takes the path and the
 * file-system version is kept under a conflict name (added by the caller
 * once it knows the name the system chose).
 */
export function merge(base: Tree, fs: Tree, s3: Tree): { tree: Tree; conflicts: ExpectedConflict[] } {
  const tree: Tree = new Map();
  const conflicts: ExpectedConflict[] = [];
  for (const path of new Set([...base.keys(), ...fs.keys(), ...s3.keys()])) {
    const b = base.get(path);
    const f = fs.get(path);
    const s = s3.get(path);
    const fsChanged = !entriesEqual(f, b);
    const s3Changed = !entriesEqual(s, b);
    let result: Entry | undefined;
    if (!s3Changed) result = f;
    else if (!fsChanged) result = s;
    else if (entriesEqual(f, s) || !f) result = s;
    else if (!s) result = f;
    else {
      result = s;
      conflicts.push({ path, kept: f });
    }
    if (result) tree.set(path, result);
  }
  return { tree, conflicts };
}

/** Splits a conflict-copy name the way src/core/conflict.ts builds it. */
export function isConflictCopyOf(copy: string, path: string): boolean {
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '' : path.slice(0, slash + 1);
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  if (!copy.startsWith(`${dir}${stem}.conflict-`) || !copy.endsWith(ext)) return false;
  return !copy.slice(dir.length).includes('/');
}

export function describeTree(tree: Tree): Record<string, unknown> {
  return Object.fromEntries(
    [...tree]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([path, entry]) => [
        path,
        entry.kind === 'file' ? { ...entry, mode: entry.mode.toString(8) } : entry,
      ]),
  );
}
