import {
  appendFile,
  chmod,
  lstat,
  mkdir,
  readdir,
  readFile,
  readlink,
  rename,
  rmdir,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { agentEvent, s3Event } from '../support/events.ts';
import type { Entry, Op, Tree } from './model.ts';

/**
 * The two real sides of one association in the property test: a directory
 * under the stack's file-system root and a bucket (with a prefix) on s3rver.
 * Operations are performed the way a user would, and each returns the events
 * the system would see for it (agent events, EventBridge S3 events).
 */
export interface Side {
  fileSystemPath: string;
  root: string;
  bucket: string;
  prefix: string;
}

const parentsOf = (path: string) => {
  const parents: string[] = [];
  for (let p = dirname(path); p !== '.'; p = dirname(p)) parents.push(p);
  return parents;
};

/** Removes directories a user's delete or move left empty (the model keeps non-empty directories implied). */
async function pruneEmpty(side: Side, path: string, events: unknown[]): Promise<void> {
  for (const parent of parentsOf(path)) {
    if ((await readdir(join(side.root, parent))).length > 0) return;
    await rmdir(join(side.root, parent));
    events.push(agentEvent(side, parent, 'deleted', 'dir'));
  }
}

/** Performs an operation on the file system; returns the agent events a watcher would post. */
export async function performOnFs(side: Side, op: Op, content: string, tree: Tree): Promise<unknown[]> {
  const events: unknown[] = [];
  const at = (path: string) => join(side.root, path);
  switch (op.kind) {
    case 'write': {
      await mkdir(dirname(at(op.path)), { recursive: true });
      const existed = tree.has(op.path);
      if (op.append) await appendFile(at(op.path), content);
      else await writeFile(at(op.path), content);
      if (!existed) await chmod(at(op.path), op.mode);
      events.push(agentEvent(side, op.path, existed ? 'modified' : 'created', 'file'));
      break;
    }
    case 'chmod':
      await chmod(at(op.path), op.mode);
      events.push(agentEvent(side, op.path, 'attrib', 'file'));
      break;
    case 'delete':
      await unlink(at(op.path));
      events.push(agentEvent(side, op.path, 'deleted'));
      await pruneEmpty(side, op.path, events);
      break;
    case 'mkdir':
      await mkdir(at(op.path));
      events.push(agentEvent(side, op.path, 'created', 'dir'));
      break;
    case 'rmdir':
      await rmdir(at(op.path));
      events.push(agentEvent(side, op.path, 'deleted', 'dir'));
      break;
    case 'symlink':
      await symlink(op.target, at(op.path));
      events.push(agentEvent(side, op.path, 'created', 'symlink'));
      break;
    case 'rename':
      await mkdir(dirname(at(op.to)), { recursive: true });
      await rename(at(op.from), at(op.to));
      events.push(agentEvent(side, op.to, 'renamed', 'file', op.from));
      await pruneEmpty(side, op.from, events);
      break;
    case 'renameDir':
      await rename(at(op.from), at(op.to));
      // A watcher sees the subtree vanish and reappear.
      for (const path of tree.keys()) {
        if (!path.startsWith(`${op.from}/`)) continue;
        events.push(agentEvent(side, path, 'deleted'));
        events.push(agentEvent(side, `${op.to}/${path.slice(op.from.length + 1)}`, 'created'));
      }
      events.push(agentEvent(side, op.to, 'renamed', 'dir', op.from));
      break;
  }
  return events;
}

const fileMeta = (mode: number) => ({ 'file-permissions': `0${(0o100000 | mode).toString(8)}` });

/** Performs an operation on the bucket; returns the EventBridge events S3 would emit. */
export async function performOnS3(
  s3: S3Client,
  side: Side,
  op: Op,
  content: string,
  tree: Tree,
): Promise<unknown[]> {
  const key = (path: string) => side.prefix + path;
  const put = async (k: string, body: string, metadata: Record<string, string>) => {
    const out = await s3.send(
      new PutObjectCommand({ Bucket: side.bucket, Key: k, Body: body, Metadata: metadata }),
    );
    return s3Event('Object Created', side.bucket, k, { etag: out.ETag, size: Buffer.byteLength(body) });
  };
  const remove = async (k: string) => {
    await s3.send(new DeleteObjectCommand({ Bucket: side.bucket, Key: k }));
    return s3Event('Object Deleted', side.bucket, k);
  };
  const move = async (from: string, to: string) => {
    await s3.send(
      new CopyObjectCommand({
        Bucket: side.bucket,
        Key: to,
        CopySource: encodeURI(`${side.bucket}/${from}`),
      }),
    );
    return [s3Event('Object Created', side.bucket, to, { reason: 'CopyObject' }), await remove(from)];
  };
  switch (op.kind) {
    case 'write': {
      const old = tree.get(op.path);
      const body = op.append && old?.kind === 'file' ? old.content + content : content;
      return [await put(key(op.path), body, fileMeta(op.mode))];
    }
    case 'delete':
      return [await remove(key(op.path))];
    case 'mkdir':
      return [await put(`${key(op.path)}/`, '', {})];
    case 'rmdir':
      return [await remove(`${key(op.path)}/`)];
    case 'symlink':
      return [await put(key(op.path), op.target, { 'file-permissions': '0120777' })];
    case 'rename':
      return move(key(op.from), key(op.to));
    case 'renameDir': {
      const events: unknown[] = [];
      for (const path of tree.keys()) {
        if (!path.startsWith(`${op.from}/`)) continue;
        events.push(...(await move(key(path), key(`${op.to}/${path.slice(op.from.length + 1)}`))));
      }
      return events;
    }
    case 'chmod':
      throw new Error('chmod is a file-system operation');
  }
}

/** Everything under an association root (the sentinel excluded), as leaf entries. */
export async function readFsTree(root: string): Promise<Tree> {
  const tree: Tree = new Map();
  const visit = async (dir: string, rel: string) => {
    const names = (await readdir(dir)).filter((name) => rel !== '' || name !== '.bucketlink');
    if (names.length === 0 && rel !== '') tree.set(rel, { kind: 'dir' });
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const stats = await lstat(join(dir, name));
      if (stats.isDirectory()) await visit(join(dir, name), path);
      else if (stats.isSymbolicLink())
        tree.set(path, { kind: 'symlink', target: await readlink(join(dir, name)) });
      else
        tree.set(path, {
          kind: 'file',
          content: await readFile(join(dir, name), 'utf8'),
          mode: stats.mode & 0o777,
        });
    }
  };
  await visit(root, '');
  return tree;
}

/** Everything under the association's prefix, as leaf entries (markers as empty directories). */
export async function readS3Tree(s3: S3Client, side: Side): Promise<Tree> {
  const tree: Tree = new Map();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: side.bucket, Prefix: side.prefix, ContinuationToken: token }),
    );
    for (const { Key } of page.Contents ?? []) {
      const path = Key!.slice(side.prefix.length);
      if (path.endsWith('/')) {
        tree.set(path.slice(0, -1), { kind: 'dir' });
        continue;
      }
      const object = await s3.send(new GetObjectCommand({ Bucket: side.bucket, Key: Key! }));
      const body = await object.Body!.transformToString();
      const mode = Number.parseInt(object.Metadata?.['file-permissions'] ?? '0100644', 8);
      const entry: Entry =
        (mode & 0o170000) === 0o120000
          ? { kind: 'symlink', target: body }
          : { kind: 'file', content: body, mode: mode & 0o777 };
      tree.set(path, entry);
    }
    token = page.NextContinuationToken;
  } while (token);
  return tree;
}
