import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { AssociationStore, FileTree, Ledger, ObjectStore } from '../adapters/ports.ts';
import {
  associationRoot,
  createAssociationInput,
  normalizeFileSystemPath,
  parseDataRepositoryPath,
  updateAssociationInput,
  validateNewAssociation,
} from '../core/association.ts';
import { AssociationNotFoundError, BucketNotFoundError } from '../core/errors.ts';
import type { Association } from '../core/types.ts';

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
  /** Called after any change, so in-process caches can drop what they hold. */
  onChange?(): void;
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
  if (!(await deps.store.bucketExists(location.bucket))) throw new BucketNotFoundError(location.bucket);
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

async function mustGet(associationId: string, deps: Pick<ControlDeps, 'associations'>): Promise<Association> {
  const association = await deps.associations.get(associationId);
  if (!association) throw new AssociationNotFoundError(associationId);
  return association;
}
