import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { BucketNotifications } from '../adapters/notifications.ts';
import type { AssociationStore, FileTree, Ledger, ObjectStore } from '../adapters/ports.ts';
import {
  associationRoot,
  createAssociationInput,
  normalizeFileSystemPath,
  parseDataRepositoryPath,
  updateAssociationInput,
  validateNewAssociation,
} from '../core/association.ts';
import { AssociationNotFoundError, BucketNotFoundError, SyncError } from '../core/errors.ts';
import type { Association } from '../core/types.ts';
import type { DeleteBudget } from '../sync/delete-budget.ts';
import { cancelTask, createTask, describeTasks, type TaskControlDeps } from '../tasks/control.ts';
import { createTaskInput, TASK_LIFECYCLES } from '../tasks/model.ts';

/**
 * The association API (FSx's CreateDataRepositoryAssociation and friends),
 * one request shape for both transports: the local control endpoint and a
 * Lambda invoke of the deployed `control` function.
 */
export const controlRequest = z.discriminatedUnion('action', [
  z.object({ action: z.literal('createAssociation'), ...createAssociationInput.shape }),
  z.object({ action: z.literal('describeAssociations'), associationIds: z.array(z.string()).optional() }),
  z.object({
    action: z.literal('updateAssociation'),
    associationId: z.string(),
    ...updateAssociationInput.shape,
  }),
  z.object({
    action: z.literal('deleteAssociation'),
    associationId: z.string(),
    deleteDataInFileSystem: z.boolean().default(false),
  }),
  z.object({ action: z.literal('resumeAssociation'), associationId: z.string() }),
  z.object({ action: z.literal('createTask'), ...createTaskInput.shape }),
  z.object({
    action: z.literal('describeTasks'),
    taskIds: z.array(z.string()).optional(),
    associationId: z.string().optional(),
    lifecycles: z.array(z.enum(TASK_LIFECYCLES)).optional(),
  }),
  z.object({ action: z.literal('cancelTask'), taskId: z.string() }),
]);

export type ControlRequest = z.input<typeof controlRequest>;

export interface ControlDeps {
  associations: AssociationStore;
  store: ObjectStore;
  tree: FileTree;
  ledger: Ledger;
  fileSystemRoot: string;
  removeTree(dir: string): Promise<void>;
  /**
   * Starts the first sync of a new association (import of what the bucket
   * holds, export of what the directory holds) and marks it AVAILABLE when
   * it ends. Without one the association is AVAILABLE at once.
   */
  startInitialSync?(association: Association): Promise<void>;
  /** Repository tasks; without them the task actions are refused. */
  tasks?: TaskControlDeps;
  /** Clears an association's delete budget when it is resumed. */
  deleteBudget?: Pick<DeleteBudget, 'reset'>;
  /** Called after any change, so in-process caches can drop what they hold. */
  onChange?(): void;
  /**
   * On AWS: refuses buckets the deployed S3 rule does not match and turns on
   * the bucket's EventBridge notifications. Local mode has no rule to check.
   */
  notifications?: BucketNotifications;
  now?: () => Date;
}

/** Runs one control request; throws SyncErrors with clear messages for bad input. */
export async function handleControl(request: ControlRequest, deps: ControlDeps): Promise<unknown> {
  const parsed = controlRequest.parse(request);
  switch (parsed.action) {
    case 'createAssociation': {
      const { action: _action, ...input } = parsed;
      return { association: await createAssociation(input, deps) };
    }
    case 'describeAssociations':
      return { associations: await describeAssociations(parsed.associationIds, deps) };
    case 'updateAssociation': {
      const { action: _action, associationId, ...changes } = parsed;
      return { association: await updateAssociation(associationId, changes, deps) };
    }
    case 'deleteAssociation':
      return deleteAssociation(parsed.associationId, parsed.deleteDataInFileSystem, deps);
    case 'resumeAssociation':
      return { association: await resumeAssociation(parsed.associationId, deps) };
    case 'createTask': {
      const { action: _action, ...input } = parsed;
      return { task: await createTask(input, mustHaveTasks(deps)) };
    }
    case 'describeTasks': {
      const { action: _action, ...filter } = parsed;
      return { tasks: await describeTasks(filter, mustHaveTasks(deps)) };
    }
    case 'cancelTask':
      return { task: await cancelTask(parsed.taskId, mustHaveTasks(deps)) };
  }
}

async function createAssociation(
  input: z.output<typeof createAssociationInput>,
  deps: ControlDeps,
): Promise<Association> {
  const fileSystemPath = normalizeFileSystemPath(input.fileSystemPath);
  const location = parseDataRepositoryPath(input.dataRepositoryPath);
  const dataRepositoryPath = `s3://${location.bucket}/${location.prefix}`;
  validateNewAssociation({ fileSystemPath, dataRepositoryPath }, await deps.associations.list());
  deps.notifications?.assertCovered(location.bucket);
  if (!(await deps.store.bucketExists(location.bucket))) throw new BucketNotFoundError(location.bucket);
  await deps.notifications?.enable(location.bucket);
  const association: Association = {
    ...input,
    associationId: `dra-${randomBytes(9).toString('hex').slice(0, 17)}`,
    fileSystemPath,
    dataRepositoryPath,
    lifecycle: 'CREATING',
    creationTime: (deps.now?.() ?? new Date()).toISOString(),
  };
  await deps.tree.writeSentinel(associationRoot(deps.fileSystemRoot, association), association.associationId);
  await deps.associations.put(association);
  deps.onChange?.();
  if (deps.startInitialSync) await deps.startInitialSync(association);
  else await setLifecycle(association, 'AVAILABLE', deps);
  return (await deps.associations.get(association.associationId)) ?? association;
}

/** Moves an association to a new lifecycle state, clearing or setting the failure details. */
export async function setLifecycle(
  association: Association,
  lifecycle: Association['lifecycle'],
  deps: Pick<ControlDeps, 'associations' | 'onChange'>,
  failureMessage?: string,
): Promise<Association> {
  const { failureDetails: _old, ...rest } = association;
  const next: Association = {
    ...rest,
    lifecycle,
    ...(failureMessage ? { failureDetails: { message: failureMessage } } : {}),
  };
  await deps.associations.put(next);
  deps.onChange?.();
  return next;
}

async function describeAssociations(ids: string[] | undefined, deps: ControlDeps): Promise<Association[]> {
  if (!ids?.length) {
    const all = await deps.associations.list();
    return all.sort((a, b) => a.fileSystemPath.localeCompare(b.fileSystemPath));
  }
  return Promise.all(ids.map((id) => mustGet(id, deps)));
}

async function updateAssociation(
  associationId: string,
  changes: Partial<Pick<Association, 'autoImport' | 'autoExport' | 'conflictPolicy'>>,
  deps: ControlDeps,
): Promise<Association> {
  const association = await mustGet(associationId, deps);
  const defined = Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined));
  const next = { ...association, ...defined };
  await deps.associations.put(next);
  deps.onChange?.();
  return next;
}

async function deleteAssociation(
  associationId: string,
  deleteDataInFileSystem: boolean,
  deps: ControlDeps,
): Promise<{ associationId: string; lifecycle: 'DELETING' }> {
  const association = await mustGet(associationId, deps);
  await setLifecycle(association, 'DELETING', deps);
  await deps.ledger.clear(associationId);
  if (deleteDataInFileSystem) await deps.removeTree(associationRoot(deps.fileSystemRoot, association));
  await deps.associations.delete(associationId);
  deps.onChange?.();
  return { associationId, lifecycle: 'DELETING' };
}

/** The failure message of an association whose bucket is gone; the health check clears only these. */
const BUCKET_MISSING = 'bucket-missing: ';
/** The failure message of an association whose store refuses the credentials (expired, revoked). */
const BUCKET_REFUSED = 'bucket-refused: ';
/** S3 answers that say the credentials, not the bucket, are the problem. */
const REFUSED = new Set([
  'AccessDenied',
  'Forbidden',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
]);

/** What the health check finds at a bucket: there, gone, or refused (a message). Transient faults throw. */
async function bucketHealth(store: ObjectStore, bucket: string): Promise<string | undefined> {
  try {
    return (await store.bucketExists(bucket))
      ? undefined
      : `${BUCKET_MISSING}${new BucketNotFoundError(bucket).message}`;
  } catch (error) {
    const { name, message, $metadata } = error as Error & { $metadata?: { httpStatusCode?: number } };
    if (!REFUSED.has(name) && $metadata?.httpStatusCode !== 403) throw error;
    return `${BUCKET_REFUSED}s3://${bucket} refused the credentials (${name}): ${message}`;
  }
}

/**
 * Marks associations whose bucket is gone, or whose store refuses the
 * credentials, MISCONFIGURED, and returns them to AVAILABLE once the bucket
 * answers again. A pause by the delete budget is left alone: only `resume`
 * ends it. Returns the associations it changed.
 */
export async function checkAssociationHealth(
  deps: Pick<ControlDeps, 'associations' | 'store' | 'onChange'>,
): Promise<Association[]> {
  const changed: Association[] = [];
  for (const association of await deps.associations.list()) {
    const { bucket } = parseDataRepositoryPath(association.dataRepositoryPath);
    const failure = association.failureDetails?.message ?? '';
    const ours = failure.startsWith(BUCKET_MISSING) || failure.startsWith(BUCKET_REFUSED);
    if (association.lifecycle === 'AVAILABLE') {
      const problem = await bucketHealth(deps.store, bucket);
      if (problem) changed.push(await setLifecycle(association, 'MISCONFIGURED', deps, problem));
    } else if (
      association.lifecycle === 'MISCONFIGURED' &&
      ours &&
      !(await bucketHealth(deps.store, bucket))
    ) {
      changed.push(await setLifecycle(association, 'AVAILABLE', deps));
    }
  }
  return changed;
}

function mustHaveTasks(deps: ControlDeps): TaskControlDeps {
  if (!deps.tasks) throw new SyncError('TasksUnavailable', 'repository tasks are not configured here');
  return deps.tasks;
}

/**
 * Lets a MISCONFIGURED association act again (after a paused mass delete):
 * AVAILABLE, its delete budget cleared. Nothing that was held back is
 * replayed; run a RECONCILE task to sync what changed meanwhile.
 */
async function resumeAssociation(associationId: string, deps: ControlDeps): Promise<Association> {
  const association = await mustGet(associationId, deps);
  if (association.lifecycle !== 'MISCONFIGURED') return association;
  await deps.deleteBudget?.reset(associationId);
  return setLifecycle(association, 'AVAILABLE', deps);
}

async function mustGet(associationId: string, deps: Pick<ControlDeps, 'associations'>): Promise<Association> {
  const association = await deps.associations.get(associationId);
  if (!association) throw new AssociationNotFoundError(associationId);
  return association;
}
