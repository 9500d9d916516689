import { Readable } from 'node:stream';
import type { ObjectStore } from '../adapters/ports.ts';
import { associationRoot, parseDataRepositoryPath } from '../core/association.ts';
import { BucketNotFoundError } from '../core/errors.ts';
import { keyToPath } from '../core/mapping.ts';
import type { WorkItem } from '../core/types.ts';
import { withinTaskPaths } from './model.ts';
import { mustGetAssociation, mustGetTask, type StartedTask, type TaskDeps } from './steps.ts';
import { assertRootPresent, walkManifest } from './walk.ts';

/**
 * Start, the repository-task machine's first step: marks the task
 * EXECUTING and takes what it will visit, once, as JSONL manifests in the
 * tasks bucket — the file-system walk, the bucket's listing and, for
 * RECONCILE, the ledger's present rows — which the Maps' ItemReaders read.
 */

/** The walk manifest's key: one per task, so a retried Start overwrites its own. */
export function manifestKey(taskId: string): string {
  return `manifests/${taskId}.jsonl`;
}

/** The listing manifest's key, beside the walk's (the same lifecycle rule and IAM resource cover both). */
export function objectManifestKey(taskId: string): string {
  return `manifests/${taskId}.objects.jsonl`;
}

/** The ledger manifest's key (RECONCILE), beside the other two. */
export function ledgerManifestKey(taskId: string): string {
  return `manifests/${taskId}.ledger.jsonl`;
}

export async function startTask(taskId: string, deps: TaskDeps): Promise<StartedTask> {
  const task = await mustGetTask(taskId, deps);
  await deps.tasks.transition(taskId, ['PENDING'], 'EXECUTING', { startTime: new Date().toISOString() });
  const association = await mustGetAssociation(task.associationId, deps);
  const { bucket, prefix } = parseDataRepositoryPath(association.dataRepositoryPath);
  if (!(await deps.store.bucketExists(bucket))) throw new BucketNotFoundError(bucket);
  const started = {
    taskId,
    associationId: association.associationId,
    type: task.type,
    bucket,
    prefix,
    error: null,
  };
  let manifest: StartedTask['manifest'] = null;
  let objects: StartedTask['objects'] = null;
  let total = 0;
  if (task.type !== 'IMPORT_METADATA_FROM_REPOSITORY') {
    const root = associationRoot(deps.fileSystemRoot, association);
    await assertRootPresent(root);
    const key = manifestKey(taskId);
    total += await writeManifest(walkManifest(root, task.paths), deps, key);
    manifest = { bucket: deps.manifestBucket, key };
  }
  // The listing is taken once, here, and the object pass reads exactly it: totalCount counts
  // what the task will visit, so succeeded + failed never passes it, even while the bucket
  // changes (a RECONCILE's own exports, new uploads) during the task.
  if (task.type !== 'EXPORT_TO_REPOSITORY') {
    const key = objectManifestKey(taskId);
    total += await writeManifest(listedKeys(deps.store, bucket, prefix, task.paths), deps, key);
    objects = { bucket: deps.manifestBucket, key };
  }
  // Rows are not counted: the ledger pass adds to the total only the rows it finds stale.
  let ledger: StartedTask['ledger'] = null;
  if (task.type === 'RECONCILE') {
    const key = ledgerManifestKey(taskId);
    await writeManifest(presentRows(deps.ledger, association.associationId, task.paths), deps, key);
    ledger = { bucket: deps.manifestBucket, key };
  }
  await deps.tasks.setTotal(taskId, total);
  return { ...started, manifest, objects, ledger };
}

/** The association's present rows within the task's paths, as manifest lines (`{ path, kind }`). */
async function* presentRows(
  ledger: TaskDeps['ledger'],
  associationId: string,
  paths: string[],
): AsyncGenerator<Array<{ path: string; kind: WorkItem['kindHint'] }>> {
  for await (const rows of ledger.list(associationId)) {
    yield rows
      .filter((row) => row.state === 'present' && withinTaskPaths(row.path, paths))
      .map((row) => ({ path: row.path, kind: row.kind }));
  }
}

/** The task's keys in the listing's order, as ItemReader listObjectsV2 hands them to a Map (`{ Key }`). */
async function* listedKeys(
  store: ObjectStore,
  bucket: string,
  prefix: string,
  paths: string[],
): AsyncGenerator<Array<{ Key: string }>> {
  for await (const page of store.list(bucket, prefix)) {
    const within = paths.length ? page.filter((object) => keyWithin(object.key, prefix, paths)) : page;
    yield within.map((object) => ({ Key: object.key }));
  }
}

/** Whether a key falls under the task's paths; unsafe keys count (they are reported as failed). */
function keyWithin(key: string, prefix: string, paths: string[]): boolean {
  try {
    return withinTaskPaths(keyToPath(key, prefix).path, paths);
  } catch {
    return true;
  }
}

/**
 * One side of a task as a JSONL manifest in S3 (the walk, the listing or the
 * ledger rows), streamed into a multipart upload: memory stays at a few parts
 * and nothing lands in the function's /tmp (512 MB by default, whatever the
 * tree's size). The Map's ItemReader then reads it like any other item
 * source. Returns its line count.
 */
async function writeManifest(pages: AsyncIterable<unknown[]>, deps: TaskDeps, key: string): Promise<number> {
  let lines = 0;
  async function* manifestLines() {
    for await (const page of pages) {
      lines += page.length;
      yield Buffer.from(page.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    }
  }
  await deps.store.upload(deps.manifestBucket, key, Readable.from(manifestLines(), { objectMode: false }));
  return lines;
}
