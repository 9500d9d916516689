import { errorCode } from '../core/errors.ts';
import { createTask, describeTasks, type TaskControlDeps } from './control.ts';

/** What one scheduled run did, per association. */
export interface ScheduledReconcile {
  /** Task ids started, one per available association. */
  started: Array<{ associationId: string; taskId: string }>;
  /** Associations left alone: not AVAILABLE, or a RECONCILE of theirs still runs. */
  skipped: Array<{ associationId: string; reason: string }>;
  /** Associations whose task could not be created; the others still ran. */
  failed: Array<{ associationId: string; code: string }>;
}

/**
 * A sweep that runs. PENDING is left out on purpose: a task caught between
 * its creation and its start (whose start fails, it ends FAILED) must not
 * hold the next sweep back.
 */
const RUNNING = ['EXECUTING', 'CANCELING'] as const;

/**
 * The scheduled anti-entropy sweep (EventBridge Scheduler → `schedule`): one
 * RECONCILE task per AVAILABLE association. An association whose previous
 * sweep still runs is skipped, so a slow sweep never piles up behind itself;
 * one association's failure does not stop the others.
 */
export async function reconcileAvailable(deps: TaskControlDeps): Promise<ScheduledReconcile> {
  const outcome: ScheduledReconcile = { started: [], skipped: [], failed: [] };
  const running = new Set(
    (await describeTasks({ lifecycles: [...RUNNING] }, deps))
      .filter((task) => task.type === 'RECONCILE')
      .map((task) => task.associationId),
  );
  for (const association of await deps.associations.list()) {
    const { associationId } = association;
    if (association.lifecycle !== 'AVAILABLE') {
      outcome.skipped.push({ associationId, reason: `association-${association.lifecycle.toLowerCase()}` });
      continue;
    }
    if (running.has(associationId)) {
      outcome.skipped.push({ associationId, reason: 'reconcile-running' });
      continue;
    }
    try {
      const task = await createTask({ type: 'RECONCILE', associationId, paths: [] }, deps);
      outcome.started.push({ associationId, taskId: task.taskId });
    } catch (error) {
      outcome.failed.push({ associationId, code: errorCode(error) });
    }
  }
  return outcome;
}
