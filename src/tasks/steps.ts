import type { AssociationStore, FileTree, Ledger, ObjectStore, TaskStore } from '../adapters/ports.ts';
import { associationRoot, parseDataRepositoryPath } from '../core/association.ts';
import { AssociationNotFoundError, errorCode, SyncError } from '../core/errors.ts';
import { keyToPath } from '../core/mapping.ts';
import type { Association, WorkItem } from '../core/types.ts';
import type { RepositoryTask, TaskFailure } from './model.ts';
import { taskPolicy, withinTaskPaths } from './model.ts';
import { splitUnchanged } from './precheck.ts';

/**
 * The steps of the repository-task state machine, as plain functions: Start
 * (src/tasks/start.ts: mark EXECUTING, write the manifests), Prepare (here:
 * one batch of manifest lines → work items), Tally and Finish
 * (src/tasks/finish.ts: counters and failures; final lifecycle, report).
 */
export interface TaskDeps {
  tasks: TaskStore;
  associations: AssociationStore;
  store: ObjectStore;
  tree: FileTree;
  ledger: Pick<Ledger, 'getMany' | 'list'>;
  fileSystemRoot: string;
  /** Bucket for walk manifests; never inside an association. */
  manifestBucket: string;
}

export class TaskNotFoundError extends SyncError {
  constructor(taskId: string) {
    super('DataRepositoryTaskNotFound', `task ${taskId} does not exist`);
  }
}

/** Which manifest a batch came from: the S3 listing, the file-system walk, or the ledger's rows (RECONCILE). */
export type TaskPass = 'objects' | 'files' | 'ledger';

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
  /** The walk manifest (file-system side): FilePass's items. */
  manifest: { bucket: string; key: string } | null;
  /** The listing manifest (S3 side): ObjectPass's items, fixed at Start so totalCount is exact. */
  objects: { bucket: string; key: string } | null;
  /** RECONCILE: the ledger's present rows, so a row whose path both sides lost is dropped. */
  ledger: { bucket: string; key: string } | null;
  /** Always null here; a Catch puts the error in its place, and Finish reads it either way. */
  error: null;
}

export async function mustGetTask(taskId: string, deps: TaskDeps): Promise<RepositoryTask> {
  const task = await deps.tasks.get(taskId);
  if (!task) throw new TaskNotFoundError(taskId);
  return task;
}

export async function mustGetAssociation(associationId: string, deps: TaskDeps): Promise<Association> {
  const association = await deps.associations.get(associationId);
  if (!association) throw new AssociationNotFoundError(associationId);
  return association;
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
  /** Items Start did not count (the ledger pass's stale rows): added to the total. */
  added: number;
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
    added: 0,
  };
  const task = await mustGetTask(input.taskId, deps);
  if (task.lifecycle === 'CANCELING' || task.lifecycle === 'CANCELED') {
    prepared.canceled = items.length;
    return prepared;
  }
  const association = await mustGetAssociation(input.associationId, deps);
  const location = parseDataRepositoryPath(association.dataRepositoryPath);
  const { prefix } = location;
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
    // Start listed only what lies within the task's paths; a walk entry always is.
    if (!withinTaskPaths(path, task.paths)) continue;
    if (path === '') {
      prepared.ignored++;
      continue;
    }
    // The ledger pass only drops rows whose path neither side holds; the other passes did the rest.
    if (input.pass === 'ledger' && (await eitherSideHolds(deps, root, location, path, kindHint))) continue;
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
  if (input.pass === 'ledger') {
    // A row the file or object pass has settled since Start (a tombstone now, or gone) is not stale.
    const rows = await deps.ledger.getMany(
      input.associationId,
      prepared.Items.map((item) => item.path),
    );
    prepared.Items = prepared.Items.filter((_, i) => rows[i]?.state === 'present');
    prepared.added = prepared.Items.length;
  }
  const { toApply, unchanged } = await splitUnchanged(
    prepared.Items,
    taskPolicy(association, input.type),
    deps,
  );
  return { ...prepared, Items: toApply, unchanged };
}

/** Whether the file system or the bucket holds the path (a failed HEAD counts as holding: leave the row). */
async function eitherSideHolds(
  deps: TaskDeps,
  root: string,
  location: { bucket: string; prefix: string },
  path: string,
  kind: WorkItem['kindHint'],
): Promise<boolean> {
  if (await onFileSystem(deps.tree, root, path)) return true;
  const s3 = await deps.store.stat(location.bucket, location.prefix, path, kind).catch(() => 'unknown');
  return s3 !== undefined;
}

async function onFileSystem(tree: FileTree, root: string, path: string): Promise<boolean> {
  try {
    return (await tree.stat(root, path)) !== undefined;
  } catch {
    // Refused by stat (a FIFO, a symlinked parent): the walk listed whatever is there.
    return true;
  }
}
