import { Readable } from 'node:stream';
import type { AssociationStore, FileTree, Ledger, ObjectStore } from '../adapters/ports.ts';
import type { DynamoTaskStore } from '../adapters/task-store.ts';
import { settleCreation } from '../control/lifecycle.ts';
import { associationRoot, parseDataRepositoryPath } from '../core/association.ts';
import { AssociationNotFoundError, BucketNotFoundError, errorCode, SyncError } from '../core/errors.ts';
import { keyToPath } from '../core/mapping.ts';
import type { ApplyResult, Association, WorkItem } from '../core/types.ts';
import type { RepositoryTask, TaskFailure } from './model.ts';
import { withinTaskPaths } from './model.ts';
import { splitUnchanged } from './precheck.ts';
import { writeReport } from './report.ts';
import { assertRootPresent, walkManifest } from './walk.ts';

/**
 * The steps of the repository-task state machine, as plain functions: Start
 * (mark EXECUTING, write the walk manifest), Prepare (one batch of listed
 * keys or manifest lines → work items), Tally (one batch's results → the
 * task's counters and failures) and Finish (final lifecycle, report).
 */
export interface TaskDeps {
  tasks: DynamoTaskStore;
  associations: AssociationStore;
  store: ObjectStore;
  tree: FileTree;
  ledger: Pick<Ledger, 'getMany'>;
  fileSystemRoot: string;
  /** Bucket for walk manifests; never inside an association. */
  manifestBucket: string;
}

export class TaskNotFoundError extends SyncError {
  constructor(taskId: string) {
    super('DataRepositoryTaskNotFound', `task ${taskId} does not exist`);
  }
}

/** Which listing a batch came from: S3 objects (ItemReader listObjectsV2) or walk manifest lines. */
export type TaskPass = 'objects' | 'files';

export interface BatchInput {
  taskId: string;
  associationId: string;
  type: RepositoryTask['type'];
  pass: TaskPass;
}

/** What Start hands the Map states. */
export interface StartedTask {
  taskId: string;
  associationId: string;
  type: RepositoryTask['type'];
  bucket: string;
  prefix: string;
  manifest: { bucket: string; key: string } | null;
  /** Always null here; a Catch puts the error in its place, and Finish reads it either way. */
  error: null;
}

async function mustGetTask(taskId: string, deps: TaskDeps): Promise<RepositoryTask> {
  const task = await deps.tasks.get(taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  return task;
}

async function mustGetAssociation(associationId: string, deps: TaskDeps): Promise<Association> {
  const association = await deps.associations.get(associationId);
  if (!association) throw new AssociationNotFoundError(associationId);
  return association;
}

/** The manifest's key: one per task, so a retried Start overwrites its own. */
export function manifestKey(taskId: string): string {
  return `manifests/${taskId}.jsonl`;
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
  let total = 0;
  if (task.type !== 'IMPORT_METADATA_FROM_REPOSITORY') {
    const key = manifestKey(taskId);
    total += await writeManifest(associationRoot(deps.fileSystemRoot, association), task.paths, deps, key);
    manifest = { bucket: deps.manifestBucket, key };
  }
  // Counting the keys is one cheap listing pass; it gives totalCount up front, so progress has an end.
  if (task.type !== 'EXPORT_TO_REPOSITORY') {
    for await (const page of deps.store.list(bucket, prefix)) {
      total += task.paths.length
        ? page.filter((object) => keyWithin(object.key, prefix, task.paths)).length
        : page.length;
    }
  }
  await deps.tasks.setTotal(taskId, total);
  return { ...started, manifest };
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
 * The file-system side of a task as a JSONL manifest in S3, streamed from
 * the walk into a multipart upload: memory stays at a few parts and nothing
 * lands in the function's /tmp (512 MB by default, whatever the tree's
 * size). The Map's ItemReader then reads it like any other item source.
 */
async function writeManifest(root: string, paths: string[], deps: TaskDeps, key: string): Promise<number> {
  await assertRootPresent(root);
  let lines = 0;
  async function* manifestLines() {
    for await (const page of walkManifest(root, paths)) {
      lines += page.length;
      yield Buffer.from(page.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    }
  }
  await deps.store.upload(deps.manifestBucket, key, Readable.from(manifestLines(), { objectMode: false }));
  return lines;
}

/** An item of a batch: an S3 listing entry (ItemReader listObjectsV2 shape) or a manifest line. */
export type ListedItem = { Key: string } | { path: string; kind?: WorkItem['kindHint'] };

export interface PreparedBatch {
  Items: WorkItem[];
  BatchInput: BatchInput;
  refused: TaskFailure[];
  /** Counted items left out on purpose (handled by the other pass, the prefix's own marker): taken off the total. */
  ignored: number;
  /** Items skipped because the task is being canceled: still part of the total, never done. */
  canceled: number;
  /** Items already in sync (src/tasks/precheck.ts): done without an apply. */
  unchanged: number;
}

/**
 * Turns one batch of listed items into work items. Keys that do not map to
 * a safe path are refused here (never written), and a canceling task gets an
 * empty batch: queued items are skipped, in-flight ones finish.
 */
export async function prepareBatch(
  items: ListedItem[],
  input: BatchInput,
  deps: TaskDeps,
): Promise<PreparedBatch> {
  const prepared: PreparedBatch = {
    Items: [],
    BatchInput: input,
    refused: [],
    ignored: 0,
    canceled: 0,
    unchanged: 0,
  };
  const task = await mustGetTask(input.taskId, deps);
  if (task.lifecycle === 'CANCELING' || task.lifecycle === 'CANCELED') {
    prepared.canceled = items.length;
    return prepared;
  }
  const association = await mustGetAssociation(input.associationId, deps);
  const { prefix } = parseDataRepositoryPath(association.dataRepositoryPath);
  const root = associationRoot(deps.fileSystemRoot, association);
  for (const item of items) {
    let path: string;
    let kindHint: WorkItem['kindHint'];
    if ('Key' in item) {
      try {
        ({ path, kind: kindHint } = keyToPath(item.Key, prefix));
      } catch (error) {
        prepared.refused.push({ path: item.Key.slice(prefix.length) || item.Key, code: errorCode(error) });
        continue;
      }
    } else {
      ({ path, kind: kindHint } = item);
    }
    // Start counted only what lies within the task's paths: the rest is not part of the total.
    if (!withinTaskPaths(path, task.paths)) continue;
    if (path === '') {
      prepared.ignored++;
      continue;
    }
    // RECONCILE walks the file system first; the object pass only adds what the walk cannot have seen.
    if (
      input.type === 'RECONCILE' &&
      input.pass === 'objects' &&
      (await onFileSystem(deps.tree, root, path))
    ) {
      prepared.ignored++;
      continue;
    }
    prepared.Items.push({
      associationId: input.associationId,
      path,
      ...(kindHint ? { kindHint } : {}),
      messageIds: [],
    });
  }
  const { toApply, unchanged } = await splitUnchanged(prepared.Items, association, deps);
  return { ...prepared, Items: toApply, unchanged };
}

async function onFileSystem(tree: FileTree, root: string, path: string): Promise<boolean> {
  try {
    return (await tree.stat(root, path)) !== undefined;
  } catch {
    // Refused by stat (a FIFO, a symlinked parent): the walk listed whatever is there.
    return true;
  }
}

/** Whether one apply result counts as a failure in a task: failed, or refused with a code. */
export function isTaskFailure(result: ApplyResult): boolean {
  return result.outcome === 'failed' || (result.outcome === 'skipped' && result.code !== undefined);
}

export interface TallyInput {
  BatchInput: BatchInput;
  Items: WorkItem[];
  refused: TaskFailure[];
  ignored: number;
  /** Items Prepare found in sync: done, without an apply. */
  unchanged: number;
  /** The apply results, or absent when the whole Apply step failed (`error`). */
  results?: ApplyResult[];
  error?: { Error: string; Cause?: string };
}

/** Adds one batch's outcome to its task: counters, and the failed paths for the report. */
export async function tallyBatch(
  input: TallyInput,
  deps: TaskDeps,
): Promise<{ succeeded: number; failed: number }> {
  const failures: TaskFailure[] = [...input.refused];
  let succeeded = input.unchanged;
  let bytes = 0;
  if (input.results) {
    for (const result of input.results) {
      if (isTaskFailure(result)) failures.push({ path: result.path, code: result.code ?? 'Unknown' });
      else succeeded++;
      bytes += result.bytes ?? 0;
    }
  } else {
    const code = input.error?.Error ?? 'Unknown';
    for (const item of input.Items) failures.push({ path: item.path, code });
  }
  if (succeeded + failures.length + input.ignored > 0) {
    await deps.tasks.addProgress(
      input.BatchInput.taskId,
      { total: -input.ignored, succeeded, failed: failures.length, bytes },
      failures,
    );
  }
  return { succeeded, failed: failures.length };
}

/**
 * Ends a task: CANCELED if a cancel arrived, FAILED if the run broke
 * (`error`), else SUCCEEDED; then writes the report and drops the manifest.
 */
export async function finishTask(
  taskId: string,
  error: { Error: string; Cause?: string } | undefined,
  deps: TaskDeps,
): Promise<RepositoryTask> {
  const endTime = new Date().toISOString();
  const canceled = await deps.tasks.transition(taskId, ['CANCELING'], 'CANCELED', { endTime });
  if (!canceled) {
    const failureDetails = error ? { message: `${error.Error}: ${causeMessage(error.Cause)}` } : undefined;
    await deps.tasks.transition(taskId, ['PENDING', 'EXECUTING'], error ? 'FAILED' : 'SUCCEEDED', {
      endTime,
      failureDetails,
    });
  }
  const task = await mustGetTask(taskId, deps);
  await settleCreation(task, deps);
  await writeReport(deps.store, task, deps.tasks.failures(taskId));
  await deps.store.delete(deps.manifestBucket, manifestKey(taskId)).catch(() => undefined);
  return task;
}

/** A Catch's Cause is the Lambda runtime's error JSON; keep its message. */
function causeMessage(cause: string | undefined): string {
  try {
    return (JSON.parse(cause ?? '') as { errorMessage?: string }).errorMessage ?? cause ?? '';
  } catch {
    return cause ?? '';
  }
}
