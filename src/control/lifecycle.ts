import type { AssociationStore, ObjectStore } from '../adapters/ports.ts';
import type { Association } from '../core/types.ts';
import { logger } from '../log.ts';
import { createTask, type TaskControlDeps } from '../tasks/control.ts';
import type { RepositoryTask } from '../tasks/model.ts';
import { checkAssociationHealth, setLifecycle } from './associations.ts';

/**
 * An association's lifecycle around its tasks, the same in `bucketlink
 * local` and on AWS (see docs/deploy.md):
 *
 * - Created with `batchImportMetaDataOnCreate`, it stays CREATING while its
 *   creation-time sync runs as a repository task (the repository-task
 *   machine). When that task ends, its Finish step settles the association:
 *   AVAILABLE after SUCCEEDED, FAILED with `failureDetails` otherwise. An
 *   association is never AVAILABLE with nothing imported.
 * - The health check marks it MISCONFIGURED when its bucket is gone. When
 *   the bucket is back, the association is AVAILABLE again and reconciled at
 *   once, so what changed meanwhile is synced without waiting for the next
 *   sweep or a restart.
 */

export interface LifecycleDeps {
  associations: AssociationStore;
  tasks: TaskControlDeps;
  onChange?: () => void;
}

/**
 * The creation-time sync: a RECONCILE task (import what the bucket holds,
 * export what the directory holds). Without `batchImportMetaDataOnCreate`
 * the association is AVAILABLE at once.
 */
export async function startInitialSync(association: Association, deps: LifecycleDeps): Promise<void> {
  if (!association.batchImportMetaDataOnCreate) {
    await setLifecycle(association, 'AVAILABLE', deps);
    return;
  }
  try {
    await createTask({ type: 'RECONCILE', associationId: association.associationId, paths: [] }, deps.tasks);
  } catch (error) {
    await setLifecycle(
      association,
      'FAILED',
      deps,
      `the creation-time import could not start: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Called when a task ends (the machine's Finish step): a task of an
 * association still CREATING is its creation-time sync, and decides its
 * lifecycle. A sync that ran and moved paths, but failed some (an unsafe
 * key, a file it may not read), leaves the association AVAILABLE with those
 * failures in failureDetails, as FSx keeps a data repository association
 * whose import task reports failed files; a sync that broke, was canceled or
 * moved nothing it tried leaves it FAILED.
 */
export async function settleCreation(
  task: RepositoryTask,
  deps: { associations: AssociationStore },
  run: { broke: boolean } = { broke: false },
): Promise<void> {
  const association = await deps.associations.get(task.associationId);
  if (association?.lifecycle !== 'CREATING') return;
  if (task.lifecycle === 'SUCCEEDED') {
    await setLifecycle(association, 'AVAILABLE', deps);
    return;
  }
  const reason = task.failureDetails?.message ? `: ${task.failureDetails.message}` : '';
  if (task.lifecycle === 'FAILED' && !run.broke && someSucceeded(task)) {
    await setLifecycle(
      association,
      'AVAILABLE',
      deps,
      `the creation-time import (task ${task.taskId}) could not sync every path${reason}`,
    );
    return;
  }
  await setLifecycle(
    association,
    'FAILED',
    deps,
    `the creation-time import (task ${task.taskId}) ended ${task.lifecycle}${reason}`,
  );
}

/** Whether a task that ran to its end synced some of its paths (it FAILED for the others). */
function someSucceeded(task: RepositoryTask): boolean {
  return task.status.succeededCount > 0;
}

/**
 * The health check, then a RECONCILE task for each association it returned
 * to AVAILABLE. Returns the associations whose lifecycle changed.
 */
export async function checkHealth(deps: LifecycleDeps & { store: ObjectStore }): Promise<Association[]> {
  const changed = await checkAssociationHealth(deps);
  for (const association of changed) {
    if (association.lifecycle !== 'AVAILABLE') continue;
    try {
      await createTask(
        { type: 'RECONCILE', associationId: association.associationId, paths: [] },
        deps.tasks,
      );
    } catch (error) {
      logger.error('reconcile after recovery not started', {
        associationId: association.associationId,
        error,
      });
    }
  }
  return changed;
}
